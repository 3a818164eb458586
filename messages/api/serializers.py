"""API shapes of messages and threads (camelCase and ids come from sendook.api's base classes)."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import serializers

from inboxes.addresses import InvalidAddress, format_address, parse_address
from messages.api.authentication import AuthenticationSerializer, TrustSerializer
from messages.api.supervision import ActorSerializer, SendAtField
from messages.models import Attachment, Message, Thread, ThreadStatus
from messages.payloads import message_row, message_row_to_dict, thread_payload
from sendook.api import (
    ApiModelSerializer,
    ApiSerializer,
    OptionalText,
    Text,
    Timestamp,
    validate_no_control_chars,
)

_CONTENT_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\Z"
)


# --- input ----------------------------------------------------------------------------------


class AddressField(Text):
    """One mailbox; comes out as "addr" or "Name <addr>"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 400)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # Display names end up in To/Cc/Reply-To: no line break of any kind, encoded or not.
        value = validate_no_control_chars(super().to_internal_value(data))
        try:
            return format_address(parse_address(value))
        except InvalidAddress as exc:
            raise serializers.ValidationError(str(exc)) from None


class AddressList(serializers.ListField):
    """A JSON array of addresses; a single string is accepted as a one-item list."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", AddressField())
        kwargs.setdefault("max_length", settings.SENDOOK_MAX_RECIPIENTS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = [data]
        return super().to_internal_value(data)


class LabelList(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", Text(max_length=100, validators=[validate_no_control_chars]))
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        labels = super().to_internal_value(data)
        return list(dict.fromkeys(label.strip() for label in labels if label.strip()))


def validate_mime_type(value: str) -> None:
    # (validate_<name> methods would not run for camelCased fields: validators do.)
    if value and not _CONTENT_TYPE.match(value):
        raise serializers.ValidationError("Must be a MIME type such as application/pdf.")


class AttachmentInput(ApiSerializer):
    content = Text(allow_blank=True, trim_whitespace=False)
    name = Text(
        max_length=255, required=False, allow_blank=True, validators=[validate_no_control_chars]
    )
    content_type = Text(
        max_length=255, required=False, allow_blank=True, validators=[validate_mime_type]
    )
    content_id = Text(
        max_length=200, required=False, allow_blank=True, validators=[validate_no_control_chars]
    )

    def validate_content(self, value: str) -> bytes:
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Must be base64-encoded.") from None

    def validate_name(self, value: str) -> str:
        # A file name, never a path.
        return value.replace("\\", "/").rsplit("/", 1)[-1].strip()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("name") or "attachment"
        attrs["name"] = name
        attrs["content_type"] = attrs.get("content_type", "").lower()
        if not attrs["content_type"]:
            attrs["content_type"] = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return attrs


class _BodyInput(ApiSerializer):
    send_at = SendAtField(required=False)
    cc = AddressList(required=False)
    bcc = AddressList(required=False)
    labels = LabelList(required=False)
    text = Text(required=False, allow_blank=True, trim_whitespace=False)
    html = Text(required=False, allow_blank=True, trim_whitespace=False)
    attachments = AttachmentInput(many=True, required=False)

    require_body = True

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.require_body and not (attrs.get("text") or attrs.get("html")):
            raise serializers.ValidationError({"text": ["Provide text or html (or both)."]})
        return attrs


class SendInput(_BodyInput):
    to = AddressList(min_length=1)
    subject = Text(max_length=998, allow_blank=True, validators=[validate_no_control_chars])
    reply_to = AddressList(required=False, max_length=10)


class _CollisionSafe(ApiSerializer):
    expected_last_message_id = Text(
        max_length=64,
        required=False,
        help_text='The thread\'s lastMessageId as you saw it (or send `If-Match: "msg_…"`): '
        "if newer messages arrived, 409 `thread_changed` with their ids and nothing is sent.",
    )


class ReplyInput(_BodyInput, _CollisionSafe):
    reply_to = AddressList(required=False, max_length=10)


class ForwardInput(_BodyInput, _CollisionSafe):
    to = AddressList(min_length=1)
    require_body = False


class LabelsInput(ApiSerializer):
    add_labels = LabelList(required=False)
    remove_labels = LabelList(required=False)


# --- output ---------------------------------------------------------------------------------


class OptionalList(serializers.ListField):
    """An empty list is "unset" (for optional lists of the API, such as replyTo)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        return list(value) or None


class AttachmentSerializer(ApiModelSerializer):
    name = serializers.CharField(source="filename")
    content_id = OptionalText()

    class Meta:
        model = Attachment
        fields = ["id", "_id", "name", "content_type", "size", "content_id", "inline"]


class AttachmentWithContentSerializer(AttachmentSerializer):
    content = serializers.SerializerMethodField(method_name="get_content")

    class Meta(AttachmentSerializer.Meta):
        fields = [*AttachmentSerializer.Meta.fields, "content"]

    def get_content(self, attachment: Attachment) -> str:
        with attachment.file.open("rb") as handle:
            return base64.b64encode(handle.read()).decode()


def _strings() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(), read_only=True)


class MessageSerializer(ApiSerializer):
    """The API's Message object (bodies included, attachment content not).

    Declared field by field rather than as a ModelSerializer: it is rendered on every send,
    and building a ModelSerializer's fields from the model each time costs more than the rest.
    """

    id = serializers.CharField(source="public_id", read_only=True)
    _id = serializers.CharField(source="public_id", read_only=True)
    organization_id = serializers.CharField(source="organization.public_id", read_only=True)
    inbox_id = serializers.CharField(source="inbox.public_id", read_only=True)
    thread_id = serializers.CharField(source="thread.public_id", read_only=True)
    from_inbox_id = serializers.CharField(
        source="from_inbox.public_id", default=None, read_only=True
    )
    to_inbox_id = serializers.CharField(source="to_inbox.public_id", default=None, read_only=True)
    from_name = OptionalText()
    to = _strings()
    cc = _strings()
    bcc = _strings()
    reply_to = OptionalList()
    subject = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    html = serializers.CharField(read_only=True)
    extracted_text = OptionalText()
    labels = _strings()
    attachments = AttachmentSerializer(many=True, read_only=True)
    message_id = serializers.CharField(read_only=True)
    in_reply_to = OptionalText()
    references = _strings()
    external_message_id = OptionalText()
    status = serializers.ChoiceField(choices=Message.Status.choices, read_only=True)
    status_reason = OptionalText()
    direction = serializers.ChoiceField(choices=Message.Direction.choices, read_only=True)
    # Received messages only: SPF/DKIM/DMARC as Sendook checked them.
    authentication = AuthenticationSerializer(read_only=True, required=False)
    # Received messages only: what an agent may believe about the sender.
    trust = TrustSerializer(read_only=True, required=False)
    # Who wrote it (omitted on messages stored before provenance was recorded).
    created_by = ActorSerializer(read_only=True)
    sent_at = Timestamp(read_only=True)
    created_at = Timestamp(read_only=True)
    updated_at = Timestamp(read_only=True)

    include_bodies = True
    include_content = False
    include_preview = False

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword, so it cannot be declared as a class attribute.
        fields["from"] = serializers.CharField(source="from_email", read_only=True)
        return fields

    def to_representation(self, message: Message | Mapping[str, Any]) -> dict[str, Any]:
        # Written out by hand: a message is rendered on every send and in every event, and DRF
        # would rebuild ~30 field objects per rendering. The declared fields above still define
        # the OpenAPI schema; a test keeps the two in step. List pages pass rows
        # (selectors.list_messages) rather than models.
        row = message if isinstance(message, Mapping) else message_row(message)
        return message_row_to_dict(
            row,
            bodies=self.include_bodies,
            content=self.include_content,
            preview=self.include_preview,
        )


class MessageDetailSerializer(MessageSerializer):
    """The single-message GET and the send responses: attachments carry base64 `content`."""

    attachments = AttachmentWithContentSerializer(many=True, read_only=True)
    include_content = True


class MessageListItemSerializer(MessageSerializer):
    """List rows: the message objects of the seed reference (with `text` and `html`), plus a
    preview of the body."""

    preview = serializers.CharField(read_only=True)
    include_preview = True


class MessageSummarySerializer(MessageListItemSerializer):
    """List rows for `?view=summary`: no bodies, only the preview (smaller pages)."""

    # None removes a field declared on the parent serializer.
    text = None  # type: ignore[assignment]
    html = None  # type: ignore[assignment]
    extracted_text = None  # type: ignore[assignment]
    include_bodies = False


class AssigneeSerializer(ApiSerializer):
    type = serializers.ChoiceField(choices=["user", "api_key"])
    id = serializers.CharField()
    name = serializers.CharField()


class ThreadSerializer(ApiSerializer):
    """The API's Thread object, defined once in messages.payloads.thread_payload (events carry
    the same); the declared fields are its OpenAPI schema (a test keeps the two in step)."""

    id = serializers.CharField(read_only=True)
    _id = serializers.CharField(read_only=True)
    organization_id = serializers.CharField(read_only=True)
    inbox_id = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    participants = _strings()
    labels = _strings()
    message_count = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=ThreadStatus.choices, read_only=True)
    snoozed_until = Timestamp(read_only=True, required=False)
    assignee = AssigneeSerializer(read_only=True, required=False)
    last_message_id = serializers.CharField(read_only=True, required=False)
    last_message_at = Timestamp(read_only=True)
    preview = serializers.CharField(read_only=True)
    messages = _strings()
    created_at = Timestamp(read_only=True)
    updated_at = Timestamp(read_only=True)

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        return thread_payload(thread)


class ThreadDetailSerializer(ThreadSerializer):
    messages = MessageSerializer(many=True, read_only=True)  # type: ignore[assignment]

    def to_representation(self, thread: Thread) -> dict[str, Any]:
        data = thread_payload(thread, message_ids=[])
        data["messages"] = MessageSerializer(
            thread.messages.all(), many=True, context=self.context
        ).data
        return data
