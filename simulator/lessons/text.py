"""A lesson's light markup: paragraphs, *emphasis*, **strong** and `code`, nothing else.

The player never interprets text as HTML: it draws the spans `parse_text` returns (one parser, here, so the
browser has no twin to keep alike). Rules, checked when a lesson loads:
- a blank line separates paragraphs; a single newline is a space;
- `**strong**`, `*emphasis*`, `` `code` `` do not nest, and every marker is closed in its paragraph;
- a backslash makes the next `*`, `` ` `` or `\\` literal;
- no HTML-looking tags (`<b>`, `</i>`, `<!--`): they would be shown as typed, which is never what was meant;
- no control characters but the newline.
"""

import re

from .errors import LessonError

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_TAG = re.compile(r"<[A-Za-z/!]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_ESCAPABLE = "*`\\"


def parse_text(text, where, max_length):
    """Return the paragraphs of `text`, each a list of `[kind, text]` spans (kind: text, em, strong, code)."""
    if not isinstance(text, str) or not text.strip():
        raise LessonError(f"{where}: required, non-empty text", field=where)
    if len(text) > max_length:
        raise LessonError(f"{where}: at most {max_length} characters, got {len(text)}", field=where)
    bad = _CONTROL.search(text)
    if bad:
        raise LessonError(f"{where}: control character {bad.group()!r} at {bad.start()} (only newlines are allowed)",
                          field=where)
    tag = _TAG.search(text)
    if tag:
        raise LessonError(f"{where}: HTML is not allowed (the player shows text as typed), found "
                          f"{text[tag.start():tag.start() + 8]!r}; use *emphasis*, **strong** or `code`", field=where)
    return [_spans(p.replace("\n", " "), where) for p in _PARAGRAPH_BREAK.split(text.strip())]


def _spans(par, where):
    spans = []
    buf = []
    kind = "text"
    opened_at = 0
    i = 0

    def close():
        if buf:
            spans.append([kind, "".join(buf)])
            buf.clear()

    while i < len(par):
        ch = par[i]
        if ch == "\\" and i + 1 < len(par) and par[i + 1] in _ESCAPABLE:
            buf.append(par[i + 1])
            i += 2
            continue
        marker = "**" if par.startswith("**", i) else ch if ch in "*`" else None
        if marker is None:
            buf.append(ch)
            i += 1
            continue
        want = {"**": "strong", "*": "em", "`": "code"}[marker]
        if kind == "text":
            close()
            kind, opened_at = want, i
        elif kind == want:
            if not buf:
                raise LessonError(f"{where}: empty {marker}{marker} at character {opened_at}", field=where)
            close()
            kind = "text"
        elif kind == "code":
            buf.append(marker)  # * inside `code` is literal
        else:
            raise LessonError(f"{where}: {marker} inside {kind} opened at character {opened_at} "
                              "(markup does not nest)", field=where)
        i += len(marker)
    if kind != "text":
        marker = {"strong": "**", "em": "*", "code": "`"}[kind]
        raise LessonError(f"{where}: {marker} opened at character {opened_at} is never closed "
                          "(write \\* for a literal asterisk)", field=where)
    close()
    return spans
