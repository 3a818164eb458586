import logging

from celery import shared_task
from django.conf import settings

from inboxes.exceptions import DomainTaken
from inboxes.models import Domain, IdempotencyRecord
from sendook.api import replay_cutoff

logger = logging.getLogger(__name__)


@shared_task
def purge_idempotency_keys() -> int:
    """Replays are promised for SENDOOK_IDEMPOTENCY_TTL_HOURS; older keys are dropped."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=replay_cutoff()).delete()
    return deleted


@shared_task
def recheck_domains() -> int:
    """Periodic: re-verify verified domains so one that stopped proving control lapses (after
    the grace period) and stops sending. Each domain is its own task."""
    from inboxes.services import domains_to_recheck

    ids = domains_to_recheck(limit=settings.SENDOOK_DOMAIN_RECHECK_BATCH)
    for domain_pk in ids:
        recheck_domain.delay(domain_pk)
    return len(ids)


@shared_task
def recheck_domain(domain_pk: int) -> None:
    from inboxes.services import verify_domain

    domain = Domain.objects.filter(pk=domain_pk, verified=True).first()
    if domain is None:
        return
    try:
        verify_domain(domain)
    except DomainTaken:
        # Cannot happen for a verified row (it is the holder); nothing to retry.
        logger.warning("recheck of domain %s: taken", domain.name)
