import email
import email.policy
import json
from pathlib import Path

import pytest

from inboxes.tests.factories import InboxFactory


@pytest.fixture(autouse=True)
def _sandbox_backend(settings):
    # pytest-django swaps in the locmem backend; the product's default is the sandbox.
    settings.EMAIL_BACKEND = "messages.sandbox.SandboxEmailBackend"


@pytest.fixture
def inbox(org):
    return InboxFactory(organization=org, name="Support Bot", email="support@sendook.localhost")


@pytest.fixture
def other_inbox(other_org):
    return InboxFactory(organization=other_org, name="Other", email="other@sendook.localhost")


@pytest.fixture
def send(api_client, django_capture_on_commit_callbacks):
    """POST with on-commit callbacks run (the eager worker sends before this returns)."""

    def post(path, body, client=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or api_client).post(path, body, format="json", **extra)

    return post


@pytest.fixture
def sandbox(settings):
    """The mail the sandbox backend captured: [(parsed MIME, envelope, raw bytes)]."""

    def read():
        directory = Path(settings.SENDOOK_SANDBOX_DIR)
        captured = []
        for path in sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            raw = path.read_bytes()
            envelope = json.loads(path.with_suffix(".json").read_text())
            captured.append(
                (email.message_from_bytes(raw, policy=email.policy.default), envelope, raw)
            )
        return captured

    return read


@pytest.fixture
def enable_providers(settings):
    """Mount Anymail provider webhooks as an operator would: set the provider settings, then
    rebuild /webhooks/anymail/ (its URL patterns are built from them at import)."""
    import importlib

    from django.urls import clear_url_caches

    import sendook.urls
    from messages.inbound import provider_urls

    def remount():
        importlib.reload(provider_urls)
        importlib.reload(sendook.urls)  # its include() resolver cached the old patterns
        clear_url_caches()

    before = (settings.SENDOOK_INBOUND_PROVIDERS, settings.SENDOOK_TRACKING_PROVIDERS)

    def enable(*, inbound=(), tracking=()):
        settings.SENDOOK_INBOUND_PROVIDERS = list(inbound)
        settings.SENDOOK_TRACKING_PROVIDERS = list(tracking)
        remount()

    yield enable
    # Runs before the settings fixture restores them: put them back, then unmount.
    settings.SENDOOK_INBOUND_PROVIDERS, settings.SENDOOK_TRACKING_PROVIDERS = before
    remount()
