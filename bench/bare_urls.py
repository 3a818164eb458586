"""The product's URLs plus one bare view: the baseline of the send-path benchmark.

The bare view does what POST …/send must do at the least, without the API layer: parse the
JSON, insert the thread and the queued message, and enqueue the worker on commit.
"""

import json

from django.db import transaction
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inboxes.models import Inbox
from messages.models import Message, Thread
from messages.tasks import send_message


@csrf_exempt
def bare_send(request, inbox_id):
    body = json.loads(request.body)
    inbox = Inbox.objects.get(public_id=inbox_id)
    with transaction.atomic():
        now = timezone.now()
        thread = Thread.objects.create(
            organization_id=inbox.organization_id,
            inbox=inbox,
            subject=body["subject"],
            message_count=1,
            last_message_at=now,
            preview=body["text"][:200],
        )
        message = Message(
            organization_id=inbox.organization_id,
            inbox=inbox,
            thread=thread,
            direction="outbound",
            status="queued",
            from_email=inbox.email,
            to=body["to"],
            subject=body["subject"],
            text=body["text"],
        )
        message.message_id = f"<{message.public_id}@{inbox.domain_name}>"
        message.save()
        transaction.on_commit(lambda: send_message.delay(message.pk))
    return JsonResponse({"id": message.public_id, "status": "queued"}, status=202)


urlpatterns = [
    path("bare/<str:inbox_id>/send", bare_send),
    path("", include("sendook.urls")),
]
