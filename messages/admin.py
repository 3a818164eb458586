from messages.inbound.admin import InboundEmailAdmin  # noqa: F401  (registers it)
