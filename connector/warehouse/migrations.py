"""Versioned DDL: ``migrations/NNNN_name.sql``, applied in version order, each in its own
transaction together with its row in ``meta.schema_migrations(version, name, applied_at)``.

Discovery is a glob of the folder, so a source adds its tables by dropping in the next file
(``0002_uplynk.sql`` ...). Applying is idempotent: applied versions are skipped. A migration
file is never edited once released; change the schema with a new one. SQL must be accepted by
both a DuckDB file and a DuckLake catalog: no PRIMARY KEY / UNIQUE constraints, no indexes,
no sequences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.schema_migrations (
    version     INTEGER NOT NULL,
    name        VARCHAR NOT NULL,
    applied_at  TIMESTAMPTZ
);
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in ``directory``, sorted by version. Badly named .sql files and
    duplicate versions are errors (better loud than silently skipped)."""
    found: dict[int, Migration] = {}
    for path in sorted(Path(directory).glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
        version = int(m[1])
        if version in found:
            raise ValueError(
                f"duplicate migration version {version}: {found[version].path.name}, {path.name}"
            )
        found[version] = Migration(version, m[2], path)
    return [found[v] for v in sorted(found)]


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(_BOOTSTRAP)
    return {r[0] for r in con.execute("SELECT version FROM meta.schema_migrations").fetchall()}


def apply_pending(
    con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR
) -> list[Migration]:
    """Apply every migration not yet recorded; returns those applied (in order).

    ``con`` must not be inside a transaction: each migration gets its own.
    """
    migrations = discover(directory)
    done = applied_versions(con)
    applied: list[Migration] = []
    for mig in migrations:
        if mig.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            # Re-check inside the transaction: another thread or process may have applied
            # it since we looked (on DuckLake the loser of that race conflicts at COMMIT,
            # and Warehouse.migrate looks again).
            again = con.execute(
                "SELECT count(*) FROM meta.schema_migrations WHERE version = ?", [mig.version]
            ).fetchone()[0]
            if again:
                con.execute("ROLLBACK")
                continue
            con.execute(mig.sql)
            con.execute(
                "INSERT INTO meta.schema_migrations (version, name, applied_at) "
                "VALUES (?, ?, now())",
                [mig.version, mig.name],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")  # a failed COMMIT has already ended the transaction
        applied.append(mig)
    return applied
