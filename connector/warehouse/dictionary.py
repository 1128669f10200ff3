"""The data dictionary, read from the migrations: every table's columns with their comments.

Each column of a ``CREATE TABLE`` in ``migrations/NNNN_*.sql`` carries a ``-- comment`` on
its line; those comments are the data dictionary the Dagster catalog shows
(``dagster/column_schema``) and the README restates. A later migration that adds a column
(``ALTER TABLE t ADD COLUMN c TYPE -- comment``) is read too.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import NamedTuple

from .migrations import MIGRATIONS_DIR

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS\s+([a-z_]+\.[a-z0-9_]+)\s*\(", re.IGNORECASE)
_COLUMN = re.compile(
    r"^\s*([a-z_][a-z0-9_]*)\s+([A-Z][A-Z0-9_\[\]() ]*?)\s*(?:NOT NULL)?\s*,?\s*(?:--\s*(.*))?$"
)
_ALTER = re.compile(
    r"ALTER TABLE\s+([a-z_]+\.[a-z0-9_]+)\s+ADD COLUMN(?: IF NOT EXISTS)?\s+([a-z_][a-z0-9_]*)"
    r"\s+([A-Z][A-Z0-9_]*)[^-]*?(?:--\s*(.*))?$",
    re.IGNORECASE,
)


class Column(NamedTuple):
    name: str
    type: str
    doc: str


@cache
def columns(directory: Path = MIGRATIONS_DIR) -> dict[str, dict[str, Column]]:
    """``{"schema.table": {column: Column}}`` for every table the migrations create."""
    docs: dict[str, dict[str, Column]] = {}
    for path in sorted(Path(directory).glob("*.sql")):
        table: str | None = None
        last: str | None = None  # the column a continued comment belongs to
        for line in path.read_text().splitlines():
            if table is None:
                if m := _CREATE.search(line):
                    table = m.group(1).lower()
                    docs.setdefault(table, {})
                elif m := _ALTER.search(line):
                    col = Column(m.group(2), m.group(3) or "", (m.group(4) or "").strip())
                    docs.setdefault(m.group(1).lower(), {})[col.name] = col
                continue
            stripped = line.strip()
            if stripped.startswith(")"):
                table, last = None, None
                continue
            if stripped.startswith("--") and last is not None:  # a comment continued
                col = docs[table][last]
                docs[table][last] = col._replace(doc=f"{col.doc} {stripped[2:].strip()}".strip())
            elif m := _COLUMN.match(line):
                last = m.group(1)
                docs[table][last] = Column(last, m.group(2).strip(), (m.group(3) or "").strip())
    return docs
