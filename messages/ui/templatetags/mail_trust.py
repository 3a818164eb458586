"""The staff UI's sender warning (mail/_trust.html): decided by messages.services.trust."""

from __future__ import annotations

from typing import Any

from django import template

from messages.models import Message
from messages.services.trust import claims_known_domain, domain_of

register = template.Library()


@register.simple_tag
def sender_warning(message: Message) -> dict[str, Any]:
    """{unverified, lookalike, domain}: `unverified` when the sender did not authenticate
    (DMARC failed or absent, no aligned DKIM pass) yet its domain is, or imitates, one the
    organization owns or the inbox knows; `lookalike` names the domain it imitates."""
    trust = message.trust or {}
    if message.direction != Message.Direction.INBOUND or not trust:
        return {}
    return {
        "unverified": not trust.get("authenticated") and claims_known_domain(message),
        "lookalike": trust.get("lookalikeOf", ""),
        "domain": domain_of(message.from_email),
    }
