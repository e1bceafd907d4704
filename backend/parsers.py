"""The API's body parsers: Django REST framework's, with the input rules of backend/inputs.py.

``JSONParser`` is ``DEFAULT_PARSER_CLASSES``; a view that lists its parsers takes them from here
(``tests/hardening/test_hostile_input.py`` fails for a view that parses with another class).
Every string of a parsed body, at any depth, holds allowed characters only; a JSON body is
nested ``API_JSON_MAX_DEPTH`` levels at most, checked before parsing. Uploaded files' contents
are not text and are not checked; their names are. Each refusal is a 400 in the error format,
in the request's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from backend.inputs import fields_check, has_invalid_character, invalid_character, json_parse


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # DRF's check of the charset (text encodings only); not in its type stubs yet.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        limit = settings.REQUEST_MAX_BODY_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:  # a body that came without Content-Length (see security.py)
            raise RequestDataTooBig()
        return json_parse(raw, encoding=encoding)


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        fields_check(data.lists())
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            result = super().parse(stream, media_type, parser_context)
        except ParseError:
            raise ParseError(_("The multipart body is malformed.")) from None
        fields_check(result.data.lists())
        for name, files in result.files.lists():
            for upload in files:
                if has_invalid_character(upload.name or ""):
                    raise invalid_character(name)
        return result
