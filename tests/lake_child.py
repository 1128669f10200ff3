"""Run one source's sync into ``Warehouse.from_env()``: the writer process of the many-writer
and SIGKILL tests (and, in-process through :func:`run`, their sequential references).

    python -m tests.lake_child SOURCE [--now-ms MS] [--checkpoint-pages N]
        [--listing-checkpoint-rows N]

The vendor settings come from the sandbox's variables in the environment. ``--now-ms``
fixes the simulated now of the sources that take one (IBM, VALT), so two runs at different
wall times write the same rows. Prints ``{"source", "checkpoints", "conflicts",
"lock_waits", "elapsed_s"}`` as JSON.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import orjson

from connector.warehouse import Warehouse
from tests.uplynk_helpers import FAST_RETRY

SOURCES = ("uplynk", "ibm", "valt", "iris")


def run(source: str, warehouse: Warehouse, now_ms: int | None = None, **options: Any) -> Any:
    """One sync of ``source``; returns its report."""
    if source == "uplynk":
        from connector.config import UplynkSettings
        from connector.uplynk import SyncOptions, sync_uplynk

        return sync_uplynk(
            UplynkSettings.from_env(), warehouse, SyncOptions(**options), retry=FAST_RETRY
        )
    if source == "ibm":
        from connector.config import IbmSettings
        from connector.ibm import SyncOptions, sync_ibm

        opts = SyncOptions(now_ms=now_ms, **options)
        return sync_ibm(IbmSettings.from_env(), warehouse, opts, retry=FAST_RETRY)
    if source == "valt":
        from connector.config import ValtSettings
        from connector.valt import SyncOptions, sync_valt

        opts = SyncOptions(now_ms=now_ms, **options)
        return sync_valt(ValtSettings.from_env(), warehouse, opts, retry=FAST_RETRY)
    if source == "iris":
        from connector.config import IrisSettings
        from connector.iris import SyncOptions, sync_iris

        return sync_iris(
            IrisSettings.from_env(), warehouse, SyncOptions(**options), retry=FAST_RETRY
        )
    raise ValueError(f"unknown source {source!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", choices=SOURCES)
    parser.add_argument("--now-ms", type=int)
    parser.add_argument("--checkpoint-pages", type=int)
    parser.add_argument("--listing-checkpoint-rows", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = {}
    if args.checkpoint_pages:
        options["checkpoint_pages"] = args.checkpoint_pages
    if args.listing_checkpoint_rows:
        options["listing_checkpoint_rows"] = args.listing_checkpoint_rows
    warehouse = Warehouse.from_env()
    report = run(args.source, warehouse, args.now_ms, **options)
    out = {
        "source": args.source,
        "checkpoints": report.checkpoints,
        "conflicts": warehouse.conflicts,
        "lock_waits": warehouse.lock_waits,
        "elapsed_s": report.elapsed_s,
    }
    print(orjson.dumps(out).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
