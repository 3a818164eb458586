"""The app as reliability/api_fuzz.py serves it under gunicorn: real code, but webhooks stay home.

The fuzzer creates webhooks with whatever URLs it likes and asks for test deliveries. Nothing may
leave this machine, so every webhook connection is sent to the loopback receiver the script runs
(SENDOOK_FUZZ_WEBHOOK_RECEIVER="127.0.0.1:port") after the real SSRF checks have ruled on the URL,
and host names resolve to one public address (never connected to) instead of asking real DNS, so
the checks run at production strictness (SENDOOK_WEBHOOK_ALLOW_PRIVATE off). Everything else is
the product.
"""

from __future__ import annotations

import os

from sendook.wsgi import application  # noqa: F401  (gunicorn serves this)

PUBLIC_ADDRESS = "93.184.216.34"


def confine_webhooks(receiver: str) -> None:
    """Route every webhook connection to `receiver` ("host:port"), after the real URL checks."""
    from webhooks import http
    from webhooks.services.delivery import posting
    from webhooks.ssrf import VettedUrl, vet_url

    host, _, port = receiver.rpartition(":")
    # Stands in for DNS (none here): every name is one public address, which passes the SSRF
    # checks as a customer's real endpoint would; the connection then goes to the receiver.
    posting.resolver = lambda name, port_: [PUBLIC_ADDRESS]

    def vet_to_receiver(url: str, **kwargs: object) -> VettedUrl:
        vetted = vet_url(url, **kwargs)  # the product's verdict on the URL stands
        return VettedUrl(parts=vetted.parts, addresses=[(host, int(port))])

    http.vet_url = vet_to_receiver
    posting.vet_url = vet_to_receiver


if os.environ.get("SENDOOK_FUZZ_WEBHOOK_RECEIVER"):
    confine_webhooks(os.environ["SENDOOK_FUZZ_WEBHOOK_RECEIVER"])
