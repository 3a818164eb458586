"""Request bodies: JSON only, bounded in size, strict about what JSON is."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import JSONParser

from sendook.exceptions import SendookError


class PayloadTooLarge(SendookError):
    status_code = 413
    code = "payload_too_large"
    message = "Request body too large"


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser reads the whole stream; this one stops past the configured size."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            return {}
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body exceeds {limit} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise drf_exceptions.ParseError("Request body is not valid UTF-8") from None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise drf_exceptions.ParseError(f"Malformed JSON: {exc}") from None
        except RecursionError:
            # json.loads recurses once per nesting level; no request of ours nests that deep.
            raise drf_exceptions.ParseError("Malformed JSON: nested too deeply") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")
