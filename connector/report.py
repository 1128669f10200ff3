"""A plain-text summary of the warehouse: rows per table, stream cursors, recent runs."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from connector.warehouse import Warehouse


def _fmt_ms(value: object) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
    return str(value)


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
        for stream, state in con.execute("SELECT stream, state FROM meta.sync_state ORDER BY 1").fetchall():
            state = orjson.loads(state) if isinstance(state, str) else state
            cursor = state.get("cursor_ms") if isinstance(state, dict) else None
            extra = {k: v for k, v in (state or {}).items() if k not in ("cursor_ms", "boundary")}
            lines.append(f"  {stream:<10} cursor={_fmt_ms(cursor) if cursor else '-'} {orjson.dumps(extra).decode()[:120]}")
        views = [t for t in tables if t[0] == "marts"]
        for schema, name in views[:2]:
            lines.append(f"{schema}.{name} (first {preview_rows} rows):")
            rel = con.sql(f'SELECT * FROM "{schema}"."{name}" LIMIT {preview_rows}')
            lines.append(str(rel))
    return "\n".join(lines)
