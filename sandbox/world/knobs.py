"""The world's settings ("knobs"): name, default, how a value is checked, and whether it may
change on a live world (POST /_control/config) or only when the world is built (reset).

Uplynk quirks (all default to the sandbox's original behaviour):

    uplynk_clock_offset_s  float, 0     the feed's clock runs this many seconds ahead (+) or
                                        behind (-) the simulated clock: change timestamps,
                                        ``end``, created/lastmod/deleted/autoexpire are served
                                        shifted; request signing stays on the real clock
    cap_changes_per_ms     bool, True   ordinary churn never puts more than
                                        ``changes_page_size - 1`` changes in one millisecond;
                                        False lets ``advance(burst=K)`` and ties stand as drawn
    get_unknown            "skip"       asset/get with ids/external_ids: unknown or deleted ids
                                        are skipped ("skip") or fail the whole batch with
                                        ``{"error": 1, "msg": "asset not found: <id>"}`` ("error")
    create_action          bool, False  creates appear in the feed as ``"create"``, not ``"update"``
    numbers_as_strings     float, 0     share of assets whose duration, autoexpire, created and
                                        lastmod are served as numeric strings ("1800.5")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise ValueError(f"not a boolean: {v!r}")


def _fraction(v: Any) -> float:
    f = _number(v)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"not a fraction in [0, 1]: {v!r}")
    return f


def _number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"not a number: {v!r}")
    return float(v)


def _non_negative(v: Any) -> float:
    f = _number(v)
    if f < 0:
        raise ValueError(f"must be >= 0: {v!r}")
    return f


def _page_size(v: Any) -> int:
    if isinstance(v, bool) or int(v) != float(v) or int(v) < 1:
        raise ValueError(f"not a positive integer: {v!r}")
    return int(v)


def _get_unknown(v: Any) -> str:
    if v not in ("skip", "error"):
        raise ValueError(f'must be "skip" or "error", not {v!r}')
    return str(v)


# name -> (default, check/convert, settable on a live world)
KNOBS: dict[str, tuple[Any, Callable[[Any], Any], bool]] = {
    "delete_window_s": (6 * 3600.0, _non_negative, True),
    "update_window_s": (7 * 86400.0, _non_negative, True),
    "changes_page_size": (500, _page_size, True),
    "changes_assets_omit_prob": (0.02, _fraction, True),
    "malformed_fraction": (0.0, _fraction, False),
    "uplynk_clock_offset_s": (0.0, _number, True),
    "cap_changes_per_ms": (True, _bool, True),
    "get_unknown": ("skip", _get_unknown, True),
    "create_action": (False, _bool, True),
    "numbers_as_strings": (0.0, _fraction, True),
}
LIVE_KNOBS = tuple(k for k, (_, _, live) in KNOBS.items() if live)


def check_knobs(values: dict[str, Any], live: bool = False) -> dict[str, Any]:
    """Validated, converted knob values; ValueError naming every unknown or bad one."""
    allowed = LIVE_KNOBS if live else tuple(KNOBS)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        what = "unknown or not live-settable" if live else "unknown"
        raise ValueError(f"{what} fields: {unknown}")
    out = {}
    for name, v in values.items():
        try:
            out[name] = KNOBS[name][1](v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from exc
    return out
