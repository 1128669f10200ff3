"""A tolerant reader of IRIS.TV's JSONP and single-quoted pseudo-JSON (no ``eval``).

Watch and Next answer JavaScript, not JSON: the vendor's own samples read

    jQuery1910_1407970311998({
    'success': true,
    'next': [ {'iris_id': '2140j908', 'platform_id': '780YOTSDB'', ...}, ],
    'experience': '53ebec0d321d0690858dw5r1',
    })

so this module tokenizes it by hand. What it accepts beyond JSON:

* a callback wrapper ``name(...)`` (dots allowed in the name, an optional ``/**/`` before it
  and ``;`` after it); a bare document without one is read too;
* strings in single or double quotes, with JavaScript's backslash escapes;
* the doubled closing quote of the samples: ``'780YOTSDB''`` followed by a delimiter
  (``,`` ``}`` ``]`` ``)`` ``:`` or the end) reads as ``780YOTSDB``; a doubled quote inside the
  text (``'it''s'``) is one quote, SQL style; a lone quote that is not followed by a
  delimiter is an apostrophe of the text (``'Bob's clip'``);
* trailing commas in objects and arrays;
* bare identifier keys (``video_complete: 1``), and a missing comma between two members
  on separate lines (both in the vendor's Update samples);
* ``true`` / ``false`` / ``null`` and JSON numbers (leading zeros tolerated).

Anything else (``NaN``, ``undefined``, an unclosed bracket, text after the document, nesting
deeper than :data:`MAX_DEPTH`) raises :class:`PseudoJsonError` naming the line, column and
what was expected. :func:`parse_jsonp` returns the callback name with the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 64

_SPACE = re.compile(r"[ \t\r\n\ufeff]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_CALLBACK = re.compile(r"(?:/\*\*/)?[ \t\r\n]*([A-Za-z_$][A-Za-z0-9_$.]*)[ \t\r\n]*\(")
_PLAIN = {q: re.compile(rf"[^{q}\\]*") for q in ("'", '"')}
_ENDS_STRING = frozenset(",}]):")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}
_LITERALS = {"true": True, "false": False, "null": None}


class PseudoJsonError(ValueError):
    """The text is not a document this reader accepts; the message says where and why."""


@dataclass(frozen=True, slots=True)
class JsonpDocument:
    """A parsed answer: ``callback`` is the wrapper's name (None for a bare document)."""

    callback: str | None
    value: Any


def parse_jsonp(text: str | bytes) -> JsonpDocument:
    """Read ``callback(<pseudo-JSON>)`` or a bare pseudo-JSON document."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    reader = _Reader(text)
    reader.skip()
    m = _CALLBACK.match(text, reader.pos)
    callback = None
    if m is not None:
        callback = m.group(1)
        reader.pos = m.end()
    value = reader.value(0)
    reader.skip()
    if callback is not None:
        reader.expect(")")
        reader.skip()
        if reader.peek() == ";":
            reader.pos += 1
            reader.skip()
    if reader.pos != len(text):
        raise reader.error("the end of the document")
    return JsonpDocument(callback, value)


def loads(text: str | bytes) -> Any:
    """The value of a pseudo-JSON document, with or without a callback wrapper."""
    return parse_jsonp(text).value


class _Reader:
    """A cursor over the text; each method reads one construct starting at ``pos``."""

    __slots__ = ("n", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0

    # -- helpers ---------------------------------------------------------------------
    def skip(self) -> bool:
        """Skip white space; True when a line break was among it."""
        start = self.pos
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return "\n" in self.text[start : self.pos]

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < self.n else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.error(repr(char))
        self.pos += 1

    def error(self, expected: str) -> PseudoJsonError:
        line = self.text.count("\n", 0, self.pos) + 1
        col = self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1
        got = self.text[self.pos : self.pos + 20]
        shown = repr(got) + ("..." if self.pos + 20 < self.n else "") if got else "the end"
        return PseudoJsonError(f"line {line} column {col}: expected {expected}, got {shown}")

    # -- values ----------------------------------------------------------------------
    def value(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.error(f"at most {MAX_DEPTH} levels of nesting")
        self.skip()
        c = self.peek()
        if c == "{":
            return self.obj(depth + 1)
        if c == "[":
            return self.array(depth + 1)
        if c in ("'", '"'):
            return self.string()
        m = _NUMBER.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
            if m.group(1) is None and m.group(2) is None:
                return int(m.group())
            return float(m.group())
        m = _IDENT.match(self.text, self.pos)
        if m is not None and m.group() in _LITERALS:
            self.pos = m.end()
            return _LITERALS[m.group()]
        raise self.error("a value (object, array, string, number, true, false or null)")

    def obj(self, depth: int) -> dict[str, Any]:
        self.pos += 1  # "{"
        out: dict[str, Any] = {}
        self.skip()
        while self.peek() != "}":
            key = self.key()
            self.skip()
            self.expect(":")
            out[key] = self.value(depth)
            newline = self.skip()
            c = self.peek()
            if c == ",":
                self.pos += 1
                self.skip()
            elif c != "}" and not (newline and (c in ("'", '"') or _IDENT.match(c))):
                raise self.error("',' or '}'")
        self.pos += 1
        return out

    def key(self) -> str:
        c = self.peek()
        if c in ("'", '"'):
            return self.string()
        m = _IDENT.match(self.text, self.pos)
        if m is None:
            raise self.error("a key (a quoted string or a name)")
        self.pos = m.end()
        return m.group()

    def array(self, depth: int) -> list[Any]:
        self.pos += 1  # "["
        out: list[Any] = []
        self.skip()
        while self.peek() != "]":
            out.append(self.value(depth))
            self.skip()
            c = self.peek()
            if c == ",":
                self.pos += 1
                self.skip()
            elif c != "]":
                raise self.error("',' or ']'")
        self.pos += 1
        return out

    # -- strings ---------------------------------------------------------------------
    def ends_string_at(self, i: int) -> bool:
        """Whether a quote just before ``i`` closes the string: a delimiter (or the end)
        follows it, white space aside."""
        i = _SPACE.match(self.text, i).end()  # type: ignore[union-attr]
        return i >= self.n or self.text[i] in _ENDS_STRING

    def string(self) -> str:
        text, quote = self.text, self.text[self.pos]
        plain = _PLAIN[quote]
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            m = plain.match(text, self.pos)
            parts.append(m.group())  # type: ignore[union-attr]
            self.pos = m.end()  # type: ignore[union-attr]
            if self.pos >= self.n:
                self.pos = start
                raise self.error("a string closed by its quote")
            if text[self.pos] == "\\":
                parts.append(self.escape())
                continue
            after = self.pos + 1
            if after < self.n and text[after] == quote:  # a doubled quote
                self.pos = after + 1
                if self.ends_string_at(self.pos):  # the samples' '780YOTSDB'' quirk
                    return "".join(parts)
                parts.append(quote)  # 'it''s': one quote of the text
                continue
            self.pos = after
            if self.ends_string_at(after):
                return "".join(parts)
            parts.append(quote)  # an apostrophe inside the text

    def escape(self) -> str:
        self.pos += 1  # the backslash
        if self.pos >= self.n:
            raise self.error("an escaped character")
        c = self.text[self.pos]
        self.pos += 1
        if c == "u":
            return self.unicode_escape()
        if c == "\n":  # a line continuation
            return ""
        return _ESCAPES.get(c, c)  # JavaScript: '\q' is 'q'

    def unicode_escape(self) -> str:
        digits = self.text[self.pos : self.pos + 4]
        if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise self.error("four hex digits after \\u")
        self.pos += 4
        code = int(digits, 16)
        if 0xD800 <= code < 0xDC00 and self.text.startswith("\\u", self.pos):
            low = self.text[self.pos + 2 : self.pos + 6]
            if len(low) == 4 and all(d in "0123456789abcdefABCDEF" for d in low):
                low_code = int(low, 16)
                if 0xDC00 <= low_code < 0xE000:
                    self.pos += 6
                    return chr(0x10000 + ((code - 0xD800) << 10) + (low_code - 0xDC00))
        return chr(code)


__all__ = ["MAX_DEPTH", "JsonpDocument", "PseudoJsonError", "loads", "parse_jsonp"]
