"""``redaction_disabled()``: every secret scrubber of the connector made a no-op, so a test
can show that its secret checks fail without them (tests/test_secrets.py runs each check
that way and expects a leak).

The one place to change when the scrubbing code moves: :data:`SCRUBBERS`. Each entry names a
module and a function (or ``Class.method``); those that exist are replaced by the identity,
those that do not are skipped, and :func:`redaction_disabled` refuses to run if it found
none. A module that copied a scrubber with ``from ... import name`` keeps its copy: list that
module too, or the meta-test shows a check that no longer fails with redaction off.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

# (module, attribute path, kind): "text" returns its first argument as a str, "value" returns
# its first argument unchanged
SCRUBBERS: tuple[tuple[str, str, str], ...] = (
    # the one scrubber (issue 6): text, URLs and payloads
    ("connector.secrets", "redact_text", "text"),
    ("connector.secrets", "redact_url", "text"),
    ("connector.secrets", "scrub", "value"),
    # the HTTP layer's face of it (also what RedactingFilter and HttpError call)
    ("connector.http.redact", "Redactor.redact", "text"),
    ("connector.http.redact", "Redactor.url", "text"),
    ("connector.http.redact", "Redactor.scrub", "value"),
    # meta.rejects' own rules, before the unification
    ("connector.warehouse.rejects", "scrub", "value"),
    ("connector.warehouse.rejects", "_scrub_text", "text"),
)


def _identity(kind: str, is_method: bool) -> Any:
    def text(value: object, *_: Any, **__: Any) -> str:
        return value if isinstance(value, str) else str(value)

    def value(obj: Any, *_: Any, **__: Any) -> Any:
        return obj

    fn = text if kind == "text" else value
    if not is_method:
        return fn
    return lambda self, obj, *a, **k: fn(obj, *a, **k)


@contextlib.contextmanager
def redaction_disabled() -> Iterator[list[str]]:
    """Within the block, secrets pass through every scrubber in :data:`SCRUBBERS`
    unchanged. Yields the names patched."""
    patched: list[tuple[Any, str, Any]] = []
    names: list[str] = []
    try:
        for module_name, attr_path, kind in SCRUBBERS:
            try:
                owner: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            *parents, attr = attr_path.split(".")
            for p in parents:
                owner = getattr(owner, p, None)
            if owner is None or not hasattr(owner, attr):
                continue
            patched.append((owner, attr, owner.__dict__[attr]))
            setattr(owner, attr, _identity(kind, is_method=bool(parents)))
            names.append(f"{module_name}.{attr_path}")
        if not names:
            raise RuntimeError("no scrubber found: update SCRUBBERS in tests/redaction.py")
        yield names
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)
