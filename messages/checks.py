"""System checks of the mail app (run by `manage.py check`, `migrate` and `runserver`)."""

from typing import Any

from django.core.checks import Error

from messages.inbound import providers


def check_provider_webhooks(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Every enabled provider webhook can authenticate its provider; unknown names are refused.

    An error, not a --deploy warning: an unauthenticated inbound webhook lets anyone store mail
    with any sender in any inbox, and a tracking one lets anyone suppress any address.
    """
    errors: list[Error] = []
    for kind, setting in (
        (providers.INBOUND, "SENDOOK_INBOUND_PROVIDERS"),
        (providers.TRACKING, "SENDOOK_TRACKING_PROVIDERS"),
    ):
        for name in providers.enabled_names(kind):
            endpoint = providers.ENDPOINTS.get((name, kind))
            if endpoint is None:
                hint = providers.ROUTED_ELSEWHERE.get(name) or (
                    f"Supported: {', '.join(providers.SUPPORTED[kind])}."
                )
                errors.append(
                    Error(
                        f"{setting}: no {kind} provider webhook {name!r}.",
                        hint=hint,
                        id="mail.E001",
                    )
                )
                continue
            missing = providers.missing_credentials(endpoint)
            if missing:
                errors.append(
                    Error(
                        f"{setting} enables {name!r}, but its webhook has no credentials: "
                        "it would accept forged requests (and refuses every request until set).",
                        hint=f"Set {missing}.",
                        id="mail.E002",
                    )
                )
    return errors
