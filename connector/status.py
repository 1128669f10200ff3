"""``python -m connector status``: per stream, the cursor and its age, the last run's outcome
and counts, rejects on record, and whether the stream is stale.

A stream is stale when its last successful run is older than its budget
(:data:`STALE_AFTER`: a few times its schedule's interval), or when it never succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from connector.warehouse import Warehouse, sql_file

#: how old a stream's last successful run may be before it is stale (schedules: Uplynk every
#: 15 minutes, IBM hourly, VALT and IRIS hourly)
STALE_AFTER: dict[str, timedelta] = {
    "uplynk": timedelta(hours=1),
    "ibm": timedelta(hours=3),
    "valt": timedelta(hours=3),
    "iris": timedelta(hours=3),
}
DEFAULT_STALE_AFTER = timedelta(hours=24)


@dataclass
class StreamStatus:
    stream: str
    last_status: str
    last_started_at: datetime | None
    last_ok_at: datetime | None
    rows: dict[str, int]
    rejects_on_record: int
    cursor: Any
    cursor_saved_at: datetime | None
    error: str | None
    stale: bool


def _cursor(state_json: str | None) -> Any:
    if not state_json:
        return None
    state = orjson.loads(state_json)
    return state.get("cursor_ms", state) if isinstance(state, dict) else state


def stream_status(warehouse: Warehouse, now: datetime | None = None) -> list[StreamStatus]:
    """The status of every stream that has ever run."""
    now = now or datetime.now(UTC)
    rejects = dict(warehouse.query("SELECT stream, count(*) FROM meta.rejects GROUP BY stream"))
    out = []
    for r in warehouse.query(sql_file(__file__, "stream_status")):
        stream, status, started, _finished, ok_at = r[:5]
        budget = STALE_AFTER.get(stream, DEFAULT_STALE_AFTER)
        out.append(
            StreamStatus(
                stream=stream,
                last_status=status,
                last_started_at=started,
                last_ok_at=ok_at,
                rows=dict(zip(("inserted", "updated", "deleted", "rejected"), r[5:9], strict=True)),
                rejects_on_record=int(sum(n for s, n in rejects.items() if s.startswith(stream))),
                cursor=_cursor(r[10]),
                cursor_saved_at=r[11],
                error=r[9],
                stale=ok_at is None or now - ok_at > budget,
            )
        )
    return out


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    minutes = (now - when).total_seconds() / 60
    return f"{minutes:.0f} min ago" if minutes < 120 else f"{minutes / 60:.1f} h ago"


def format_status(statuses: list[StreamStatus], now: datetime | None = None) -> str:
    """One screen: a line per stream, then its last error if it failed."""
    now = now or datetime.now(UTC)
    if not statuses:
        return "no stream has run yet (python -m connector sync <source>)"
    lines = []
    for s in statuses:
        flag = "STALE" if s.stale else "ok"
        rows = ", ".join(f"{v or 0} {k}" for k, v in s.rows.items())
        lines.append(
            f"{s.stream:<8} {flag:<5} last run {s.last_status} {_age(s.last_started_at, now)}"
            f" ({rows}); last success {_age(s.last_ok_at, now)}; cursor {s.cursor!r}"
            f" saved {_age(s.cursor_saved_at, now)}; {s.rejects_on_record} rejects on record"
        )
        if s.last_status != "ok" and s.error:
            lines.append(f"         last error: {s.error[:300]}")
    return "\n".join(lines)
