"""The API's JSON parser: bounded in size and nesting, with messages for people.

Python's ``json`` module recurses once per level of nesting, so a body of ten thousand ``[`` ends
in ``RecursionError`` (a 500) before any serializer sees it. The depth is measured first, by a
linear scan with strings blanked out, and a body nested deeper than ``MAX_DEPTH`` is refused
with a 400; nothing that the API accepts comes near that depth (a score sheet is three levels).
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32

# A JSON string, escapes included (the unrolled form runs in linear time).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when arrays and objects in ``text`` nest deeper than ``limit``; stops on the first
    level too deep. Malformed text gives some answer; the JSON parser refuses it afterwards."""
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BodyParseError(ParseError):
    """A body this parser refused, with a message for people (DRF's own name the exception)."""


def _malformed(error: json.JSONDecodeError | None = None) -> ParseError:
    if error is None:
        message = _("The request body is not valid JSON.")
    else:
        message = _(
            "The request body is not valid JSON (near line %(line)d, column %(column)d)."
        ) % {"line": error.lineno, "column": error.colno}
    return BodyParseError(message, code="parse_error")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            encoding = parsers.get_encoding(parser_context or {})
        except ParseError:
            raise BodyParseError(
                _("The character set named in the Content-Type header is not supported."),
                code="parse_error",
            ) from None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise _malformed() from None
        if nesting_depth_exceeds(text):
            raise BodyParseError(
                _("The request body nests more than %(depth)d levels deep.") % {"depth": MAX_DEPTH},
                code="nested_too_deeply",
            )
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from None
        except ValueError:  # NaN or Infinity, which strict JSON does not have
            raise _malformed() from None
