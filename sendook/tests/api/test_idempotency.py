"""Idempotency-Key, exercised through the helper the send endpoints use."""

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from inboxes.models import IdempotencyRecord, Inbox
from inboxes.tests.factories import InboxFactory
from sendook.api import idempotent
from sendook.exceptions import Conflict

pytestmark = pytest.mark.django_db


def _call(org, handler, key="k-1", body=None):
    factory = APIRequestFactory()
    request = factory.post("/v1/x", body or {"a": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    return idempotent(Request(request, parsers=[JSONParser()]), org, handler)


def test_an_idempotency_key_replays_the_first_response_without_running_again(org):
    calls = []

    def handler():
        calls.append(1)
        InboxFactory(organization=org)
        return Response({"n": len(calls)}, status=202)

    first = _call(org, handler)
    second = _call(org, handler)
    assert first.status_code == second.status_code == 202
    assert second.data == {"n": 1} and second.headers["Idempotent-Replayed"] == "true"
    assert len(calls) == 1 and Inbox.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(org):
    _call(org, lambda: Response({}, status=202))
    with pytest.raises(Conflict) as error:
        _call(org, lambda: Response({}, status=202), body={"a": 2})
    assert error.value.code == "idempotency_key_reused"


def test_a_failed_request_does_not_consume_the_key(org):
    def failing():
        InboxFactory(organization=org)
        raise Conflict("nope")

    with pytest.raises(Conflict):
        _call(org, failing)
    assert Inbox.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()
    assert _call(org, lambda: Response({"ok": True}, status=202)).data == {"ok": True}


def test_keys_are_scoped_per_organization(org, other_org):
    _call(org, lambda: Response({"org": 1}, status=202))
    assert _call(other_org, lambda: Response({"org": 2}, status=202)).data == {"org": 2}
