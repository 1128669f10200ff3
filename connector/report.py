"""A plain-text summary of the warehouse: rows per table, stream cursors, recent runs."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from connector.warehouse import Warehouse


def _fmt_ms(value: object) -> str:
    if isinstance(value, int | float):
        return (
            datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
        )
    return str(value)


def _cell(value: object, width: int = 36) -> str:
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def warehouse_summary(warehouse: Warehouse | None = None, *, preview_rows: int = 5) -> str:
    warehouse = warehouse or Warehouse.from_env()
    lines: list[str] = [f"warehouse: {warehouse.path}"]
    with warehouse.read() as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'core', 'marts', 'meta') ORDER BY 1, 2"
        ).fetchall()
        lines.append("rows per table:")
        for schema, name in tables:
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
            lines.append(f"  {schema}.{name:<32} {n:>10,}")
        lines.append("stream cursors:")
        for stream, state in con.execute(
            "SELECT stream, state FROM meta.sync_state ORDER BY 1"
        ).fetchall():
            state = orjson.loads(state) if isinstance(state, str) else state
            cursor = state.get("cursor_ms") if isinstance(state, dict) else None
            extra = {k: v for k, v in (state or {}).items() if k not in ("cursor_ms", "boundary")}
            lines.append(
                f"  {stream:<10} cursor={_fmt_ms(cursor) if cursor else '-'} {orjson.dumps(extra).decode()[:120]}"
            )
        lines.append("latest run per stream:")
        for stream, status, finished, ins, upd, dele, rej, cursor in con.execute(
            "SELECT stream, status, finished_at, rows_inserted, rows_updated, rows_deleted, "
            "rows_rejected, cursor_after FROM meta.runs "
            "QUALIFY row_number() OVER (PARTITION BY stream ORDER BY started_at DESC) = 1 ORDER BY stream"
        ).fetchall():
            lines.append(
                f"  {stream:<10} {status:<7} {_cell(finished)}  +{ins} ~{upd} -{dele} rejected {rej}"
                f"  cursor_after={_cell(cursor, 60)}"
            )
        for schema, name in [t for t in tables if t[0] == "marts"]:
            lines.append(f"{schema}.{name}, first {preview_rows} rows:")
            cur = con.execute(f'SELECT * FROM "{schema}"."{name}" LIMIT {preview_rows}')
            header = [d[0] for d in cur.description]
            rows = [[_cell(v) for v in row] for row in cur.fetchall()]
            widths = [
                max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                for i, h in enumerate(header)
            ]
            lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
            lines.extend(
                "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
            )
    return "\n".join(lines)
