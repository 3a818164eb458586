from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from messages.api.filters import MessageListFilter, validated_filters
from sendook.api import error_body
from sendook.exceptions import ValidationFailed


def test_no_parameters_give_the_defaults():
    assert validated_filters(MessageListFilter, QueryDict("")) == {
        "view": "full",
        "query": "",
        "labels": [],
        "before": None,
        "after": None,
    }


def test_labels_come_from_every_parameter_split_on_commas():
    params = QueryDict("labels=a,%20,b&labels=c&query=%20invoice%20")
    filters = validated_filters(MessageListFilter, params)
    assert filters["labels"] == ["a", "b", "c"]
    assert filters["query"] == "invoice"


def test_a_date_is_midnight_utc_and_an_offset_is_converted():
    params = QueryDict("before=2026-02-03&after=2026-02-01T10:00:00%2B02:00")
    filters = validated_filters(MessageListFilter, params)
    assert filters["before"] == datetime(2026, 2, 3, tzinfo=UTC)
    assert filters["after"] == datetime(2026, 2, 1, 8, tzinfo=UTC)


def test_an_empty_view_is_refused_but_an_empty_date_is_unset():
    assert validated_filters(MessageListFilter, QueryDict("before="))["before"] is None
    with pytest.raises(ValidationFailed) as error:
        validated_filters(MessageListFilter, QueryDict("view="))
    failure = error.value
    assert error_body(failure.message, failure.code, failure.fields) == {
        "error": "Must be full or summary.",
        "message": "Must be full or summary.",
        "code": "validation_error",
        "fields": {"view": ["Must be full or summary."]},
    }


def test_only_the_first_bad_parameter_is_named():
    with pytest.raises(ValidationFailed) as error:
        validated_filters(MessageListFilter, QueryDict("after=x&before=y"))
    assert error.value.fields == {"before": ["Must be an ISO 8601 date or date-time."]}
