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
            captured.append((email.message_from_bytes(raw, policy=email.policy.default), envelope, raw))
        return captured

    return read
