"""One reconcile run: records -> key rules -> fuzzy pairs -> clusters -> ``core.asset_xref``.

Transactions, in order (each through the kit's Checkpointer, so the run is logged in
``meta.runs`` and a failure carries the one-screen summary):

1. refresh: dirty marks, normalised records and key values (:mod:`.records`); on the first
   run, or when the rules' digest differs from the state's, everything is forgotten first;
2. per key rule and fuzzy pair: the stored pairs touching dirty records are found again
   (key joins, blocking) and the new fuzzy pairs scored in Arrow batches (:mod:`.fuzzy`);
3. decide: links and conflicts are decided again from every stored pair (cheap SQL; the
   re-upload rules join the records of one system directly), the clusters labelled
   (:mod:`.clusters`), ``core.asset_xref`` rewritten where it differs, the dirty marks
   cleared and the state (rules digest) saved, all in one transaction.

Only new and changed records are re-matched: step 2 touches pairs with a dirty side only.
Step 3 reads every stored pair, so a link can move when a better candidate appears.

Memory: the run's DuckDB sessions use ``ReconcileOptions.memory_limit`` (default
``CONNECTOR_RECONCILE_MEMORY_LIMIT``, else 768MB) instead of the syncs' smaller
``CONNECTOR_DUCKDB_MEMORY_LIMIT`` cap (192MB: at a million records the joins spilled and the
incremental run failed with an out-of-memory error), on a DuckDB file warehouse; a DuckLake
warehouse keeps its process-wide instance and limit. Its transactions also set
``preserve_insertion_order = false`` (nothing here relies on row order) and restore it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from connector.http import RequestMetrics, default_redactor
from connector.kit import SyncReport, SyncRun
from connector.runtime import run_sync
from connector.timeutil import now_ms, utc_from_ms
from connector.warehouse import Warehouse, WriteTx, sql_file

from . import clusters, fuzzy, records
from .rules import Rules, load_rules

STREAM = "reconcile"
DEFAULT_MEMORY_LIMIT = "768MB"


def _memory_limit() -> str:
    return os.environ.get("CONNECTOR_RECONCILE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT


@dataclass(frozen=True)
class ReconcileOptions:
    """Knobs of a run. ``rules``: a rules file (default: ``rules.toml`` of this package);
    ``full``: re-match everything; ``chunk_pairs``: candidate pairs scored per Arrow batch;
    ``memory_limit``: DuckDB's cap for the run's sessions (see the module docstring)."""

    rules: str | Path | None = None
    full: bool = False
    chunk_pairs: int = 250_000
    memory_limit: str = field(default_factory=_memory_limit)


@dataclass
class ReconcileReport(SyncReport):
    """What a run did. ``inserted/updated/unchanged`` count ``core.asset_xref`` rows."""

    systems: list[str] = field(default_factory=list)
    full: bool = False
    records: int = 0
    dirty: int = 0
    candidates_added: int = 0
    candidates_scored: int = 0
    links: dict[str, int] = field(default_factory=dict)
    conflicts: int = 0
    clusters: int = 0
    label_steps: int = 0


class Reconcile:
    """The run's walk (see the module docstring)."""

    def __init__(self, warehouse: Warehouse, options: ReconcileOptions, run_id: str) -> None:
        if warehouse.backend.kind == "duckdb" and options.memory_limit:
            warehouse = copy.copy(warehouse)  # the caller's keeps its own limit
            warehouse.memory_limit = options.memory_limit
        self.warehouse = warehouse
        self.options = options
        self.rules: Rules = load_rules(options.rules)
        self.report = ReconcileReport(run_id=run_id)
        self.scaffold = SyncRun(
            STREAM,
            warehouse,
            self.report,
            lake_streams=(),
            metrics=RequestMetrics,
            redact=default_redactor().redact,
            cursor=lambda state: state.get("rules_digest"),
        )

    async def run(self) -> ReconcileReport:
        return await self.scaffold.run(self._walk)  # type: ignore[return-value]

    async def _commit(self, write: Callable[[WriteTx], Any], state: dict | None = None) -> None:
        def unordered(tx: WriteTx) -> Any:
            tx.run("SET preserve_insertion_order = false")
            try:
                return write(tx)
            finally:
                with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it
                    tx.run("RESET preserve_insertion_order")

        await self.scaffold.checkpoints.submit(unordered, state, wait=True)

    async def _walk(self) -> None:
        rules, report = self.rules, self.report
        state = self.scaffold.load_state() or {}
        present = records.present_systems(self.warehouse, rules)
        report.systems = sorted(present)
        report.full = self.options.full or state.get("rules_digest") != rules.digest

        def refresh(tx: WriteTx) -> None:
            if report.full:
                for name in ("forget_all", "forget_keys", "forget_key_links", "forget_candidates"):
                    tx.run(sql_file(__file__, name))
            records.refresh(tx, rules, present)

        await self._commit(refresh)
        report.dirty = self.warehouse.query("SELECT count(*) FROM meta.xref_dirty")[0][0]
        await self._commit(self._pairs)
        self.now = utc_from_ms(now_ms())
        await self._commit(self._decide, {"rules_digest": rules.digest, "run_id": report.run_id})

    def _pairs(self, tx: WriteTx) -> None:
        """Key pairs and fuzzy candidates touching dirty records (the candidates scored)."""
        for rule in self.rules.keys:
            tx.run(
                sql_file(__file__, "refresh_key_links"),
                {
                    "rule": rule.name,
                    "left_system": rule.left.system,
                    "right_system": rule.right.system,
                },
            )
        for pair in self.rules.fuzzy:
            added = fuzzy.block_and_score(
                tx,
                pair,
                self.rules,
                full=self.report.full,
                batch_rows=self.options.chunk_pairs,
            )
            self.report.candidates_added += added
            self.report.candidates_scored += added

    def _decide(self, tx: WriteTx) -> None:
        report, rules, now = self.report, self.rules, self.now
        tx.run(sql_file(__file__, "clear_links"))
        tx.run(sql_file(__file__, "clear_conflicts"))
        for reupload in rules.reuploads:
            report.links[reupload.rule] = tx.run(
                sql_file(__file__, "insert_reupload_links"),
                {"rule": reupload.rule, "system": reupload.system},
            )
        for rule in rules.keys:
            params = {
                "rule": rule.name,
                "left_system": rule.left.system,
                "right_system": rule.right.system,
                "many": rule.many,
            }
            report.links[rule.name] = tx.run(sql_file(__file__, "insert_key_links"), params)
            tx.run(sql_file(__file__, "insert_key_conflicts"), {**params, "now": now})
        for pair in rules.fuzzy:
            report.links[pair.rule] = fuzzy.decide(tx, pair, rules, now)
        report.conflicts = tx.query("SELECT count(*) FROM core.xref_conflicts")[0][0]
        self._clusters(tx)
        tx.run(sql_file(__file__, "clear_dirty"))

    def _clusters(self, tx: WriteTx) -> None:
        report = self.report
        links = tx.execute(sql_file(__file__, "link_ends")).to_arrow_table()
        labels, report.label_steps = clusters.components(
            links.column("a").combine_chunks(), links.column("b").combine_chunks()
        )
        del links  # peak memory: only the labels stay while DuckDB joins them
        tx.run(sql_file(__file__, "components_clear"))  # the table earlier versions filled
        tx.run(
            sql_file(__file__, "xref_next"), {"run_id": report.run_id}, inputs={"labels": labels}
        )
        del labels
        new = tx.run(sql_file(__file__, "xref_count_new"))
        removed = tx.run(sql_file(__file__, "xref_delete_changed"))
        written = tx.run(sql_file(__file__, "xref_insert"), {"now": self.now})
        report.inserted, report.updated = new, written - new
        report.deleted = removed - report.updated
        report.records, report.clusters = tx.query(
            "SELECT count(*), count(DISTINCT canonical_id) FROM xref_next"
        )[0]
        report.unchanged = report.records - written


def reconcile(
    warehouse: Warehouse | None = None,
    options: ReconcileOptions | None = None,
    *,
    run_id: str | None = None,
) -> ReconcileReport:
    """Match the records of every present system and rewrite ``core.asset_xref`` and
    ``core.xref_conflicts``; returns the run's report. Incremental: only records new or
    changed since the last run are matched again (``options.full`` re-matches everything)."""
    warehouse = warehouse or Warehouse.from_env()
    options = options or ReconcileOptions()
    run_id = run_id or f"reconcile-{uuid.uuid4().hex[:12]}"
    return run_sync(Reconcile(warehouse, options, run_id).run())
