"""Command line for scripts and operators: ``python -m connector sync uplynk|ibm``,
``python -m connector protect ibm [--apply]``.

Runs the same connector functions the Dagster assets call, configured by the same
environment variables, and prints the run report as JSON.
"""

from __future__ import annotations

import argparse
import logging
import sys

import orjson


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connector")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="run one incremental sync of a source")
    sync.add_argument("source", choices=["uplynk", "ibm"])
    sync.add_argument("--full-refresh", action="store_true", help="force a full listing")
    sync.add_argument("--checkpoint-pages", type=int, default=None)
    sync.add_argument("--checkpoint-rows", type=int, default=None)
    sync.add_argument("--concurrency", type=int, default=None, help="default: 8 uplynk, 64 ibm")
    sync.add_argument(
        "--slow-transport",
        action="store_true",
        help="httpx's default transport instead of aiohttp's",
    )
    sync.add_argument("--horizon-days", type=float, default=30.0, help="ibm refresh policy")
    sync.add_argument("--staleness-days", type=float, default=7.0, help="ibm refresh policy")
    sync.add_argument("--run-interval-hours", type=float, default=1.0, help="ibm refresh policy")
    sync.add_argument("-v", "--verbose", action="store_true")
    protect = sub.add_parser("protect", help="ibm: set rule=never on videos that must be kept")
    protect.add_argument("source", choices=["ibm"])
    protect.add_argument("--apply", action="store_true", help="really change (default: dry run)")
    protect.add_argument("--within-days", type=float, default=7.0)
    protect.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from connector.http import Redactor, install_log_redaction

    install_log_redaction(Redactor())

    if args.command == "protect":
        from connector.ibm import ProtectOptions, protect_ibm

        report = protect_ibm(
            options=ProtectOptions(within_days=args.within_days, dry_run=not args.apply)
        )
        print(orjson.dumps(report.as_dict()).decode())
        return 0

    if args.source == "ibm":
        from connector.ibm import RefreshPolicy, SyncOptions, sync_ibm

        ibm_options = SyncOptions(
            policy=RefreshPolicy(args.horizon_days, args.staleness_days, args.run_interval_hours),
            concurrency=args.concurrency or 64,
        )
        if args.checkpoint_rows:
            ibm_options.checkpoint_rows = args.checkpoint_rows
        report = sync_ibm(options=ibm_options, fast_transport=not args.slow_transport)
        print(orjson.dumps(report.as_dict()).decode())
        return 0

    if args.source == "uplynk":
        from connector.uplynk import SyncOptions, sync_uplynk

        options = SyncOptions(full_refresh=args.full_refresh)
        if args.checkpoint_pages:
            options.checkpoint_pages = args.checkpoint_pages
        if args.checkpoint_rows:
            options.checkpoint_rows = args.checkpoint_rows
            options.listing_checkpoint_rows = args.checkpoint_rows
        report = sync_uplynk(
            options=options,
            concurrency=args.concurrency or 8,
            fast_transport=not args.slow_transport,
        )
        print(orjson.dumps(report.as_dict()).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
