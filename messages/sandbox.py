"""The default outbound backend: captures mail under var/sandbox/ instead of sending it.

Each message is written as a .eml file with its envelope in a sidecar JSON, and gets an
`anymail_status`-style provider id so the send path records it like a real provider's.
"""

import json
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class SandboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        directory = Path(settings.SENDOOK_SANDBOX_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            provider_id = f"sandbox-{uuid.uuid4()}"
            (directory / f"{provider_id}.eml").write_bytes(message.message().as_bytes())
            envelope = {"from": message.from_email, "recipients": message.recipients()}
            (directory / f"{provider_id}.json").write_text(json.dumps(envelope))
            message.extra_headers = getattr(message, "extra_headers", {})
            message.sandbox_id = provider_id
            sent += 1
        return sent
