"""Command line for scripts and operators: ``python -m connector sync uplynk|ibm|valt``,
``python -m connector protect ibm [--apply]``, ``python -m connector archive valt
[--within-days N] [--apply]``, ``python -m connector sync iris [--full-refresh]``,
``python -m connector probe media``.

Runs the same connector functions the Dagster assets call, configured by the same
environment variables, and prints the run report as JSON. A failure prints one screen
(what failed, why, what was kept) and exits 1; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from typing import Any

import orjson


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m connector")
    sub = parser.add_subparsers(dest="command", required=True)
    sync = sub.add_parser("sync", help="run one incremental sync of a source")
    sync.add_argument("source", choices=["uplynk", "ibm", "valt", "iris"])
    sync.add_argument(
        "--full-refresh",
        action="store_true",
        help="uplynk, valt: force a full listing; iris: Watch every asset, read every iris_id",
    )
    sync.add_argument("--checkpoint-pages", type=int, help="uplynk: commit every N feed pages")
    sync.add_argument("--checkpoint-rows", type=int, help="commit every N rows")
    sync.add_argument("--concurrency", type=int, help="requests in flight")
    sync.add_argument(
        "--slow-transport", action="store_true", help="httpx's default transport, not aiohttp's"
    )
    sync.add_argument("--horizon-days", type=float, help="ibm, valt refresh policy")
    sync.add_argument("--staleness-days", type=float, help="ibm, valt refresh policy")
    sync.add_argument("--run-interval-hours", type=float, help="ibm, valt refresh policy")
    protect = sub.add_parser("protect", help="ibm: set rule=never on videos that must be kept")
    protect.add_argument("source", choices=["ibm"])
    protect.add_argument("--apply", action="store_true", help="really change (default: dry run)")
    protect.add_argument("--within-days", type=float, help="default: 7")
    archive = sub.add_parser("archive", help="valt: download videos whose retention ends soon")
    archive.add_argument("source", choices=["valt"])
    archive.add_argument("--apply", action="store_true", help="really download (default: dry run)")
    archive.add_argument("--within-days", type=float, help="default: 7")
    archive.add_argument("--concurrency", type=int, help="videos downloaded at a time")
    sub.add_parser("status", help="per stream: cursor and its age, last run, rejects, staleness")
    rec = sub.add_parser("reconcile", help="match ids across systems into core.asset_xref")
    rec.add_argument("--full", action="store_true", help="re-match every record")
    rec.add_argument("--rules", help="a rules file (default: connector/reconcile/rules.toml)")
    rec.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    rec.add_argument("--debug", action="store_true", help="print the traceback on failure")
    probe = sub.add_parser("probe", help="media: probe the media URLs stored in the warehouse")
    probe.add_argument("source", choices=["media"])
    probe.add_argument("--timeout-s", type=float, help="a URL silent this long is `timeout`")
    probe.add_argument("--concurrency", type=int, help="probes in flight")
    probe.add_argument("--per-host", type=int, help="requests in flight to one host")
    probe.add_argument(
        "--recheck-live-hours",
        type=float,
        help="probe a URL found live again after this (spread from half of it); 0: every URL (default: 24)",
    )
    for p in (sync, protect, archive, probe):
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        p.add_argument("--debug", action="store_true", help="print the traceback on failure")
    return parser


def _given(args: argparse.Namespace, **names: str) -> dict[str, Any]:
    """Options the user set: {option field: value} for each ``field=arg`` given."""
    return {f: getattr(args, a) for f, a in names.items() if getattr(args, a) is not None}


def _run_valt(args: argparse.Namespace) -> Any:
    if args.command == "archive":
        from connector.valt import ArchiveOptions, archive_valt

        given = _given(args, within_days="within_days", concurrency="concurrency")
        return archive_valt(options=ArchiveOptions(dry_run=not args.apply, **given))
    from connector.valt import SyncOptions, sync_valt

    options = SyncOptions(
        full_refresh=args.full_refresh,
        **_given(
            args,
            checkpoint_rows="checkpoint_rows",
            details_concurrency="concurrency",
            retention_horizon_days="horizon_days",
            staleness_days="staleness_days",
            run_interval_hours="run_interval_hours",
        ),
    )
    return sync_valt(options=options)


def _run_iris(args: argparse.Namespace) -> Any:
    """``sync iris`` and ``probe media``."""
    if args.command == "probe":
        from connector.media import ProbeOptions, probe_media

        given = _given(
            args,
            timeout_s="timeout_s",
            concurrency="concurrency",
            per_host="per_host",
            recheck_live_hours="recheck_live_hours",
        )
        return probe_media(options=ProbeOptions(**given))
    from connector.iris import SyncOptions as IrisOptions
    from connector.iris import sync_iris

    given = _given(args, concurrency="concurrency", checkpoint_rows="checkpoint_rows")
    return sync_iris(options=IrisOptions(full_refresh=args.full_refresh, **given))


def _run(args: argparse.Namespace) -> Any:
    if args.command == "reconcile":
        from connector.reconcile import ReconcileOptions, reconcile

        return reconcile(options=ReconcileOptions(rules=args.rules, full=args.full))
    if args.source == "valt":
        return _run_valt(args)
    if args.source in ("iris", "media"):
        return _run_iris(args)
    if args.command == "protect":
        from connector.ibm import ProtectOptions, protect_ibm

        options = ProtectOptions(dry_run=not args.apply, **_given(args, within_days="within_days"))
        return protect_ibm(options=options)
    if args.source == "ibm":
        from connector.ibm import RefreshPolicy, SyncOptions, sync_ibm

        policy = RefreshPolicy(
            **_given(
                args,
                horizon_days="horizon_days",
                staleness_days="staleness_days",
                run_interval_hours="run_interval_hours",
            )
        )
        options = SyncOptions(
            policy=policy,
            **_given(args, concurrency="concurrency", checkpoint_rows="checkpoint_rows"),
        )
        return sync_ibm(options=options, fast_transport=not args.slow_transport)
    from connector.uplynk import SyncOptions as UplynkOptions
    from connector.uplynk import sync_uplynk

    given = _given(
        args,
        checkpoint_pages="checkpoint_pages",
        checkpoint_rows="checkpoint_rows",
        list_concurrency="concurrency",
    )
    if "checkpoint_rows" in given:
        given["listing_checkpoint_rows"] = given["checkpoint_rows"]
    options = UplynkOptions(full_refresh=args.full_refresh, **given)
    return sync_uplynk(options=options, fast_transport=not args.slow_transport)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from connector.http import Redactor, install_log_redaction
    from connector.kit import describe_failure

    install_log_redaction(Redactor())
    if args.command == "status":
        from connector.status import format_status, stream_status
        from connector.warehouse import Warehouse

        print(format_status(stream_status(Warehouse.from_env())))
        return 0
    try:
        report = _run(args)
    except Exception as exc:
        if args.debug:
            text = "".join(traceback.format_exception(exc))
            print(Redactor().redact(text), file=sys.stderr)
        print(f"\nerror: {describe_failure(exc)}", file=sys.stderr)
        if not args.debug:
            print("(run again with --debug for the traceback)", file=sys.stderr)
        return 1
    print(orjson.dumps(report.as_dict()).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
