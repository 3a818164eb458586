"""Checks a serving process makes before it takes requests."""


def refuse_public_secret_key() -> None:
    """A web process with DEBUG off never runs on the public fallback SECRET_KEY."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not settings.DEBUG and settings.USING_FALLBACK_SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: with DEBUG off Sendook will not start on the public "
            "fallback key (anyone could forge sessions and signed links). Set SECRET_KEY to a "
            "long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
