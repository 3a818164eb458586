"""Email backends for tests: a provider that is down for its first few calls."""

from django.core.mail.backends.base import BaseEmailBackend

calls = {"count": 0, "fail_first": 0}


class FlakyBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        calls["count"] += 1
        if calls["count"] <= calls["fail_first"]:
            raise ConnectionResetError("provider connection reset")
        for message in email_messages:
            message.sandbox_id = f"flaky-{calls['count']}"
        return len(email_messages)
