"""The one place that talks to Amazon SES about identities (boto3). AWS_ENDPOINT_URL points it
at a local SES endpoint (moto's server) in development and tests."""

import logging

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from sendook.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)


class SesUnavailable(ServiceUnavailable):
    code = "ses_unavailable"
    message = "Amazon SES could not be reached; retry later"


def client():  # type: ignore[no-untyped-def]
    kwargs = {"region_name": settings.AWS_REGION}
    if settings.AWS_ENDPOINT_URL:
        kwargs["endpoint_url"] = settings.AWS_ENDPOINT_URL
    return boto3.client("ses", **kwargs)


def register_domain_identity(name: str) -> list[str]:
    """Creates (or re-reads) the SES identity and returns its three DKIM tokens."""
    try:
        ses = client()
        ses.verify_domain_identity(Domain=name)
        return list(ses.verify_domain_dkim(Domain=name)["DkimTokens"])
    except (BotoCoreError, ClientError) as exc:
        logger.warning("SES identity for %s failed: %s", name, exc)
        raise SesUnavailable() from exc


def delete_domain_identity(name: str) -> None:
    try:
        client().delete_identity(Identity=name)
    except (BotoCoreError, ClientError) as exc:
        # The domain row goes regardless; a leftover identity is harmless and visible in SES.
        logger.warning("SES identity delete for %s failed: %s", name, exc)
