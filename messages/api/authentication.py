"""The schema of what is known about a received message's sender: its `authentication` verdicts and
its `trust` signals (messages.payloads builds both)."""

from rest_framework import serializers

from messages.services.verdicts import VERDICTS
from sendook.api import ApiSerializer


def _verdict(*, optional: bool = False) -> serializers.ChoiceField:
    if optional:  # DRF refuses read_only together with required=True
        return serializers.ChoiceField(choices=VERDICTS, read_only=True, required=False)
    return serializers.ChoiceField(choices=VERDICTS, read_only=True)


class AuthenticationDomainsSerializer(ApiSerializer):
    spf = serializers.CharField(
        read_only=True, required=False, help_text="The MAIL FROM (or HELO) domain SPF checked."
    )
    dkim = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="d= of each passing signature."
    )
    dmarc = serializers.CharField(
        read_only=True, required=False, help_text="The domain whose DMARC record applied."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword, so it cannot be declared as a class attribute.
        fields["from"] = serializers.CharField(
            read_only=True, help_text="The From header's domain."
        )
        return fields


class AuthenticationSerializer(ApiSerializer):
    """SPF, DKIM and DMARC of a received message, as Sendook (or an authenticated provider
    channel) found them; headers inside the message are never believed."""

    spf = _verdict()
    dkim = _verdict()
    dmarc = _verdict()
    arc = _verdict(optional=True)
    dmarc_policy = serializers.ChoiceField(
        choices=["none", "quarantine", "reject"], read_only=True, required=False
    )
    checked_by = serializers.ChoiceField(choices=["sendook", "provider"], read_only=True)
    domains = AuthenticationDomainsSerializer(read_only=True, required=False)


class TrustSerializer(ApiSerializer):
    """What an agent may believe about a received message (messages/services/trust.py)."""

    authenticated = serializers.BooleanField(
        help_text="DMARC passed, or a DKIM signature aligned with the From domain passed."
    )
    first_contact = serializers.BooleanField(
        help_text="The inbox never exchanged mail with this sender."
    )
    lookalike_of = serializers.CharField(
        required=False,
        help_text="The own or known domain the From domain imitates (confusable or one edit).",
    )
    listed = serializers.ChoiceField(choices=["allow", "block"], required=False)
