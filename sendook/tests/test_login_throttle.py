"""Brute-force protection on the password forms (/login and /admin/login/)."""

import time
from types import SimpleNamespace

import pytest
from django.test import Client
from django_ratelimit import core as ratelimit_core

from inboxes.auth import EmailBackend
from inboxes.tests.factories import UserFactory

RIGHT = "correct horse battery"


@pytest.fixture(autouse=True)
def _small_budgets(settings):
    settings.SENDOOK_LOGIN_RATE_PER_ACCOUNT = "5/15m"
    settings.SENDOOK_LOGIN_RATE_PER_ADDRESS = "8/15m"
    settings.SENDOOK_TRUSTED_PROXY_HEADER = ""


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """django-ratelimit's clock, stopped: a test's attempts never straddle two fixed windows
    (which would split their count and make the throttle kick in one attempt later)."""
    now = [time.time()]
    monkeypatch.setattr(ratelimit_core, "time", SimpleNamespace(time=lambda: now[0]))
    return now


def from_address(address, **extra):
    return Client(REMOTE_ADDR=address, **extra)


def login(client, email, password, path="/login"):
    return client.post(path, {"username": email, "password": password})


@pytest.fixture
def hashes(monkeypatch):
    """Counts password checks (the expensive part of a login attempt)."""
    calls = []
    original = EmailBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        calls.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(EmailBackend, "authenticate", counting)
    return calls


def test_wrong_passwords_then_the_right_one_is_throttled_without_checking_it(db, hashes):
    user = UserFactory()
    client = from_address("203.0.113.7")
    for _ in range(5):
        assert login(client, user.email, "guess").status_code == 200  # the form's own error
    assert len(hashes) == 5

    response = login(client, user.email, RIGHT)
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 15 * 60
    told = f"{-(-wait // 60)} minute" if wait > 60 else f"{wait} seconds"
    assert f"Too many failed login attempts. Try again in {told}".encode() in response.content
    assert "_auth_user_id" not in client.session  # the right password did not log in
    assert len(hashes) == 5  # no password hash computed for the throttled attempt
    assert client.get("/login").status_code == 200  # the form itself still shows


def test_an_account_is_throttled_from_every_address(db):
    user = UserFactory()
    for index in range(5):
        login(from_address(f"198.51.100.{index}"), user.email, "guess")
    assert login(from_address("192.0.2.99"), user.email, RIGHT).status_code == 429
    # The account name is matched the way the login matches it (case and spaces ignored).
    assert login(from_address("192.0.2.98"), f" {user.email.upper()}", RIGHT).status_code == 429


def test_other_accounts_still_log_in_while_one_is_throttled(db):
    victim, other = UserFactory(), UserFactory()
    attacker = from_address("203.0.113.7")
    for _ in range(5):
        login(attacker, victim.email, "guess")
    assert login(attacker, victim.email, RIGHT).status_code == 429

    # The same address, another account: under the address budget, so it logs in.
    same_address = from_address("203.0.113.7")
    assert login(same_address, other.email, RIGHT).status_code == 302
    # Another address, another account: unaffected.
    assert login(from_address("192.0.2.1"), other.email, RIGHT).status_code == 302


def test_an_address_spraying_many_accounts_is_throttled_for_all_of_them(db):
    users = [UserFactory() for _ in range(8)]
    sprayer = from_address("203.0.113.9")
    for user in users:
        assert login(sprayer, user.email, "guess").status_code == 200
    fresh = UserFactory()
    assert login(sprayer, fresh.email, RIGHT).status_code == 429
    assert login(sprayer, "nobody@example.com", "x").status_code == 429
    assert login(from_address("192.0.2.1"), fresh.email, RIGHT).status_code == 302


def test_successful_logins_are_not_counted(db):
    user = UserFactory()
    for _ in range(12):
        assert login(from_address("203.0.113.7"), user.email, RIGHT).status_code == 302


def test_ipv6_clients_count_per_64(db):
    sprayer_addresses = [f"2001:db8:1:2::{index:x}" for index in range(1, 9)]
    for index, address in enumerate(sprayer_addresses):
        login(from_address(address), f"user-{index}@example.com", "guess")
    fresh = UserFactory()
    assert login(from_address("2001:db8:1:2:ffff::1"), fresh.email, RIGHT).status_code == 429
    assert login(from_address("2001:db8:1:3::1"), fresh.email, RIGHT).status_code == 302


def test_forwarded_for_is_ignored_unless_configured(db, settings):
    users = [UserFactory() for _ in range(9)]
    for index, user in enumerate(users[:8]):
        # A client rotating X-Forwarded-For does not escape the address budget by default.
        client = from_address("203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{index}")
        login(client, user.email, "guess")
    spoofed = from_address("203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert login(spoofed, users[8].email, RIGHT).status_code == 429


def test_a_trusted_proxy_header_names_the_client(db, settings):
    settings.SENDOOK_TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    settings.SENDOOK_TRUSTED_PROXY_COUNT = 1
    users = [UserFactory() for _ in range(10)]
    for user in users[:8]:
        # The proxy (REMOTE_ADDR 172.18.0.5) appended the client's address; what the client
        # wrote to the left of it is not believed.
        client = from_address("172.18.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
        login(client, user.email, "guess")
    same = from_address("172.18.0.5", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7")
    assert login(same, users[8].email, RIGHT).status_code == 429
    # Another client behind the same proxy is not throttled.
    other = from_address("172.18.0.5", HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert login(other, users[9].email, RIGHT).status_code == 302


def test_admin_login_is_throttled_too(db, hashes):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = from_address("203.0.113.7")
    for _ in range(5):
        assert login(client, admin.email, "guess", "/admin/login/").status_code == 200
    response = login(client, admin.email, RIGHT, "/admin/login/")
    assert response.status_code == 429
    assert b"Too many failed login attempts" in response.content
    assert len(hashes) == 5
    assert client.get("/admin/").status_code == 302  # still not logged in
    # The UI form shares the budget: the account is throttled there too.
    assert login(client, admin.email, RIGHT).status_code == 429


def test_the_throttle_lifts_after_its_window(db, settings, clock):
    settings.SENDOOK_LOGIN_RATE_PER_ACCOUNT = "3/10m"
    user = UserFactory()
    client = from_address("203.0.113.7")
    for _ in range(3):
        login(client, user.email, "guess")
    response = login(client, user.email, RIGHT)
    assert response.status_code == 429
    clock[0] = int(clock[0]) + int(response["Retry-After"]) - 1
    assert login(client, user.email, RIGHT).status_code == 429  # not quite yet
    clock[0] += 1
    assert login(client, user.email, RIGHT).status_code == 302
    assert "_auth_user_id" in client.session


def test_odd_login_posts_get_the_form_error_not_a_500(db):
    client = from_address("203.0.113.7")
    assert client.post("/login", {"password": "x"}).status_code == 200
    assert client.post("/login", {"username": "a" * 10_000, "password": "x"}).status_code == 200
    assert login(from_address("not-an-address"), "\x00@example.com", "x").status_code == 200
    assert login(Client(), "someone@example.com", "x").status_code == 200  # no REMOTE_ADDR quirks


def test_logins_still_work_unthrottled_when_the_cache_is_down(db, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "sendook.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    user = UserFactory()
    client = from_address("203.0.113.7")
    assert login(client, user.email, "guess").status_code == 200
    assert login(client, user.email, RIGHT).status_code == 302
