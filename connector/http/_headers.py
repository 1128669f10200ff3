"""Header lookup and parsing shared by the retry policy and the rate limiter."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping

# A reset value below this is read as "seconds from now", above as Unix time.
_EPOCH_THRESHOLD = 1e9


def get_header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive lookup that works for ``httpx.Headers`` and plain dicts."""
    if not headers:
        return None
    v = headers.get(name)
    if v is not None:
        return v
    lname = name.lower()
    v = headers.get(lname)
    if v is not None:
        return v
    for k, val in headers.items():
        if k.lower() == lname:
            return val
    return None


def parse_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_reset(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset`` as an absolute Unix time (accepts a delta in seconds too)."""
    v = parse_float(value)
    if v is None or v < 0:
        return None
    return now + v if v < _EPOCH_THRESHOLD else v


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` (delta seconds or HTTP date) as seconds to wait from ``now``."""
    if value is None:
        return None
    v = parse_float(value)
    if v is not None:
        return max(0.0, v)
    try:
        dt = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return max(0.0, dt.timestamp() - now)
