"""Request parsers that refuse what the database or the interpreter cannot take.

JSON nested too deep would exhaust the recursion limit (a 500) long before any serializer
sees it, and a NUL character is refused by PostgreSQL wherever it lands (text, jsonb), so
both are answered 400 here, once for every endpoint, naming the top-level field.
"""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

NUL = "\x00"
NUL_MESSAGE = "NUL characters are not allowed."


def too_deep() -> ParseError:
    return ParseError(f"JSON nested deeper than {settings.JSON_MAX_DEPTH} levels.")


def nul_error(field: str | int | None) -> ValidationError:
    """A field error naming `field`; a `detail` naming the item of a top-level list, or
    nothing when there is no field to name (a bare string, a NUL in a top-level key)."""
    if isinstance(field, str) and NUL not in field:
        return ValidationError({field: [NUL_MESSAGE]})
    if isinstance(field, int):
        return ValidationError({"detail": f"NUL characters are not allowed (item {field})."})
    return ValidationError({"detail": NUL_MESSAGE})


def json_too_deep(data, *, max_depth: int) -> bool:
    """Whether containers nest deeper than `max_depth`, the top one being level 1.

    Level by level and only over containers, so no depth can overflow the stack and a
    large flat body costs little.
    """
    level = [data] if isinstance(data, (dict, list)) else []
    for _ in range(max_depth):
        deeper = []
        for container in level:
            children = container.values() if isinstance(container, dict) else container
            deeper += [child for child in children if isinstance(child, (dict, list))]
        if not deeper:
            return False
        level = deeper
    return True


def has_nul(value) -> bool:
    """Whether a NUL is in any string or key of `value` (iteratively)."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                return True
        elif isinstance(value, dict):
            if any(NUL in key for key in value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def json_check(data, *, max_depth: int, check_nul: bool = True) -> None:
    """Raise a 400 if `data` nests deeper than `max_depth`, or holds a NUL in a string or key;
    the NUL error names the top-level key (or list index) under which it was found."""
    if json_too_deep(data, max_depth=max_depth):
        raise too_deep()
    if not check_nul:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if NUL in key:
                raise nul_error(None)
            if has_nul(value):
                raise nul_error(key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            if has_nul(value):
                raise nul_error(index)
    elif has_nul(data):
        raise nul_error(None)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than JSON_MAX_DEPTH and NUL characters."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
            parse_constant = parsers.json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise too_deep() from exc
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc
        max_depth = settings.JSON_MAX_DEPTH
        # A NUL can only arrive escaped, and every container opens with a bracket: most bodies
        # skip the walk entirely.
        check_nul = "\\u0000" in text
        if check_nul or text.count("[") + text.count("{") > max_depth:
            json_check(data, max_depth=max_depth, check_nul=check_nul)
        return data


def form_check(data, files=None) -> None:
    """Raise a 400 naming the first form field whose name, value or file name holds a NUL."""
    for source in (data, files):
        # QueryDict / MultiValueDict, or a plain dict for an empty multipart body.
        pairs = source.lists() if hasattr(source, "lists") else ((k, [v]) for k, v in (source or {}).items())
        for key, values in pairs:
            if NUL in key:
                raise nul_error(None)
            for value in values:
                text = value if isinstance(value, str) else getattr(value, "name", "") or ""
                if NUL in text:
                    raise nul_error(key)


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        form_check(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        form_check(parsed.data, parsed.files)
        return parsed
