"""Per-organization rate limits, with RateLimit headers, failing open when the cache is down."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_rate_limit_is_per_organization_with_headers(
    api_client, other_api_client, settings
):
    settings.SENDOOK_API_RATE_LIMIT = "3/m"
    for remaining in (2, 1, 0):
        response = api_client.get("/v1/inboxes")
        assert response.status_code == 200
        assert f"remaining={remaining}" in response.headers["RateLimit"]
        assert response.headers["RateLimit-Policy"] == "3;w=60"
    limited = api_client.get("/v1/inboxes")
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "remaining=0" in limited.headers["RateLimit"]
    # another organization has its own budget
    assert other_api_client.get("/v1/inboxes").status_code == 200


def test_a_cache_outage_does_not_turn_requests_into_errors(api_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    from django.core.cache import caches

    caches._settings = None  # make the cache handler re-read CACHES
    caches.__dict__.pop("settings", None)
    try:
        caches._connections.__dict__.pop("default", None)  # drop this thread's cached instance
        # The request really meets an unreachable Redis (not the test's local-memory cache).
        assert type(caches["default"]).__name__ == "RedisCache"
        response = api_client.get("/v1/inboxes")
    finally:
        caches.__dict__.pop("settings", None)
        caches._connections.__dict__.pop("default", None)
    assert response.status_code == 200
    assert isinstance(response.json(), list)
