"""JSON paths and the body rewrites of the response defects (see defects.py).

Path syntax: segments separated by ``.``, walked from the top of the response body.

    "end"                    the top-level key ``end``
    "videos.0.created_at"    key ``videos``, element 0 of that list, key ``created_at``
    "videos.-1.id"           a negative index counts from the end of a list
    "assets.*.duration"      ``*``: every member of an object / every element of a list
    "paging.next"            nested keys

A segment is an object key when the value there is an object (so numeric keys such as an
asset id or a channel id work as keys) and a list index when it is a list. Keys containing
``.`` cannot be addressed. Missing keys and out-of-range indices match nothing; only
``deep_nesting`` (and ``set_value``/``wrong_type`` on a missing last key of an object) create
the key. ``limit`` (optional, every path kind) rewrites only the first N matches.

Each rewrite returns the new body, or None when it cannot apply (the body is not JSON, or the
path matches nothing): the response then goes out unchanged and the rule is not spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import orjson

Slot = tuple[Any, Any]  # (the object or list holding the value, its key or index)
_MARK = "__sandbox_defect_%d__"
DEFAULT_DEEP_PATH = "x_trace"
DEFAULT_DEPTH = 1100  # orjson and most parsers stop at 1,024 levels


def resolve(doc: Any, path: str, create: bool = False) -> list[Slot]:
    """Every (container, key) the path names in ``doc`` (see the module docstring)."""
    segs = path.split(".") if path else []
    if not segs:
        raise ValueError("a path is required")
    slots: list[tuple[Any, Any, Any]] = [(None, None, doc)]
    for n, seg in enumerate(segs):
        last = n == len(segs) - 1
        nxt: list[tuple[Any, Any, Any]] = []
        for _, _, v in slots:
            if isinstance(v, dict):
                if seg == "*":
                    nxt += [(v, k, x) for k, x in v.items()]
                elif seg in v:
                    nxt.append((v, seg, v[seg]))
                elif create and last:
                    nxt.append((v, seg, None))
            elif isinstance(v, list):
                if seg == "*":
                    nxt += [(v, i, x) for i, x in enumerate(v)]
                    continue
                try:
                    i = int(seg)
                except ValueError:
                    continue
                if -len(v) <= i < len(v):
                    nxt.append((v, i % len(v), v[i]))
        slots = nxt
    return [(c, k) for c, k, _ in slots]


def first_leaf(doc: Any, want: Callable[[Any], bool]) -> Slot | None:
    """The first (container, key) in document order whose value satisfies ``want``."""
    stack: list[Any] = [doc]
    while stack:
        v = stack.pop()
        items = list(v.items()) if isinstance(v, dict) else list(enumerate(v))
        for k, x in items:
            if want(x):
                return (v, k)
        stack += [x for _, x in reversed(items) if isinstance(x, dict | list)]
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _targets(doc: Any, params: dict[str, Any], want: Callable[[Any], bool] | None) -> list[Slot]:
    """The slots a kind rewrites: ``params["path"]`` (filtered by ``want``), else the first
    leaf ``want`` accepts; at most ``params["limit"]``."""
    if params.get("path"):
        slots = resolve(doc, params["path"])
        if want is not None:
            slots = [(c, k) for c, k in slots if want(c[k])]
    else:
        leaf = first_leaf(doc, want) if want is not None and isinstance(doc, dict | list) else None
        slots = [] if leaf is None else [leaf]
    limit = params.get("limit")
    return slots[: int(limit)] if limit is not None else slots


def _with_raw(doc: Any, slots: list[Slot], raw: Callable[[Any], bytes]) -> bytes:
    """Serialize ``doc`` with each slot's value replaced by raw bytes (``raw(old value)``),
    which need not be valid JSON (NaN) or valid UTF-8."""
    olds = []
    for n, (c, k) in enumerate(slots):
        olds.append(c[k] if not (isinstance(c, dict) and k not in c) else None)
        c[k] = _MARK % n
    out = orjson.dumps(doc)
    for n, old in enumerate(olds):
        out = out.replace(orjson.dumps(_MARK % n), raw(old), 1)
    return out


def flip_type(v: Any) -> Any:
    """A value of another type: number -> string, numeric string -> number, other string ->
    [string], bool -> string, null -> {}, object -> [object], list -> {"0": ...}."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if _is_number(v):
        return str(v)
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
                return f if math.isfinite(f) else [v]
            except ValueError:
                return [v]
    if v is None:
        return {}
    if isinstance(v, dict):
        return [v]
    return {str(i): x for i, x in enumerate(v)}


def _set_value(slots: list[Slot], params: dict[str, Any]) -> int:
    done = 0
    for c, k in slots:
        old = c.get(k) if isinstance(c, dict) else c[k]
        if "value" in params:
            c[k] = params["value"]
        elif not _is_number(old):
            continue
        elif "scale" in params:
            new = old * float(params["scale"])
            c[k] = int(round(new)) if isinstance(old, int) else new
        else:
            add = params["add"]
            c[k] = old + add
        done += 1
    return done


def rewrite(kind: str, body: bytes, params: dict[str, Any]) -> bytes | None:
    """The body with defect ``kind`` applied, or None when it does not apply."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if kind == "nan":
        slots = _targets(doc, params, _is_number)
        literal = str(params.get("literal", "NaN")).encode()
        return _with_raw(doc, slots, lambda _old: literal) if slots else None
    if kind == "invalid_utf8":
        slots = _targets(doc, params, lambda x: isinstance(x, str))
        return (
            _with_raw(doc, slots, lambda old: b'"\xff\xfe' + orjson.dumps(old)[1:])
            if slots
            else None
        )
    if kind == "deep_nesting":
        depth = int(params.get("depth", DEFAULT_DEPTH))
        if not isinstance(doc, dict | list):
            return None
        slots = resolve(doc, params.get("path") or DEFAULT_DEEP_PATH, create=True)
        return _with_raw(doc, slots, lambda _old: b"[" * depth + b"]" * depth) if slots else None
    if kind in ("drop_key", "token_without_token"):
        path = "access_token" if kind == "token_without_token" else params["path"]
        slots = _targets(doc, {**params, "path": path}, None)
        for c, k in sorted(
            slots, key=lambda s: s[1] if isinstance(s[0], list) else 0, reverse=True
        ):
            del c[k]
        return orjson.dumps(doc) if slots else None
    if kind == "wrong_type":
        slots = resolve(doc, params["path"], create=True)[: params.get("limit")]
        for c, k in slots:
            old = c.get(k) if isinstance(c, dict) else c[k]
            c[k] = params["value"] if "value" in params else flip_type(old)
        return orjson.dumps(doc) if slots else None
    if kind == "set_value":
        slots = resolve(doc, params["path"], create="value" in params)[: params.get("limit")]
        return orjson.dumps(doc) if _set_value(slots, params) else None
    raise ValueError(f"not a body rewrite: {kind}")
