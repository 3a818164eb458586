from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from inboxes.models import IdempotencyRecord


@shared_task
def purge_idempotency_keys() -> int:
    """Replays are promised for SENDOOK_IDEMPOTENCY_TTL_HOURS; older keys are dropped."""
    cutoff = timezone.now() - timedelta(hours=settings.SENDOOK_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
