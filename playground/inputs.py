"""Input hygiene, in one place: every JSON text a client sends (WebSocket messages, the HTTP API, imported files)
is parsed here before anything reaches the engine or the database.

What `json.loads` accepts but the rest of the server cannot take:

- deep nesting: `json.loads` and `json.dumps` recurse, and 2 KB of `[` raise RecursionError; we refuse anything
  nested deeper than MAX_DEPTH (no scenario needs more than 6 levels);
- lone surrogates (`"\\ud800"`, valid JSON): encoding them for the socket or the database raises;
- NUL characters: PostgreSQL text columns refuse them.

Each refusal is a `BadInput` with code `bad_json` and `field`, the path of the offending value
(`scenario.params.title`, `interventions[3].value`, or the key itself). Pure Python: no Django.
"""

import json
import re

MAX_DEPTH = 32  # objects and arrays nested in one another
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


class BadInput(ValueError):
    def __init__(self, message, field=None, code="bad_json"):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.parsed = None


MAX_ECHO = 40  # characters of a client's key or value quoted back in an error message


def clip(text, limit=MAX_ECHO):
    """A client's text, shortened for quoting back (an error must not echo a megabyte)."""
    text = str(text)
    text = text if len(text) <= limit else text[:limit] + "..."
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _path(parent, key):
    if isinstance(key, int):
        return f"{parent}[{key}]"
    key = clip(key)
    return f"{parent}.{key}" if parent else key


def _reject_constant(name):
    raise BadInput(f"not valid JSON: {name} is not a number (JSON has no NaN or Infinity)")


def _check_text(text, where):
    bad = _FORBIDDEN.search(text)
    if bad is None:
        return
    what = "a NUL character" if bad.group() == "\x00" else f"a lone surrogate (\\u{ord(bad.group()):04x})"
    raise BadInput(f"{where or 'the message'}: {what} is not allowed in text", where or None)


def check_value(value, field=""):
    """Refuse nesting deeper than MAX_DEPTH and text holding a NUL or a lone surrogate (keys included), anywhere
    in an already-parsed JSON value. Iterative: no recursion on hostile input."""
    stack = [(value, field, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise BadInput(f"{where or 'the message'}: nested more than {MAX_DEPTH} levels deep", where or None)
            if isinstance(item, dict):
                for key, child in item.items():
                    child_where = _path(where, key)
                    _check_text(key, child_where)
                    stack.append((child, child_where, depth + 1))
            else:
                stack.extend((child, _path(where, i), depth + 1) for i, child in enumerate(item))


def parse_json(text):
    """Parse JSON text (str or UTF-8 bytes) from a client; BadInput (code bad_json) for anything unusable."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadInput(f"not valid UTF-8: {err}") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except BadInput:
        raise
    except RecursionError:
        raise BadInput(f"not valid JSON: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as err:
        raise BadInput(f"not valid JSON: {err}") from None
    try:
        check_value(value)
    except BadInput as err:
        err.parsed = value  # what the JSON said, for an error that echoes a request id (never store it)
        raise
    return value
