"""python -m sandbox serve --port P [--host 127.0.0.1] [--seed S] [--assets N]
[--set KNOB=VALUE ...] [--latency [VENDOR=]MS[:JITTER_MS],...]
[--state FILE [--churn-every-s S] [--churn CREATES,UPDATES,DELETES]]

``--set`` takes any world knob of sandbox/world/knobs.py, the value as JSON when it parses
(``--set uplynk_clock_offset_s=-10800 --set get_unknown=error --set create_action=true``).

``--state FILE`` continues the world FILE was written for (same seed and size): same epoch,
its changes replayed, the simulated clock where it was, then a little churn every
``--churn-every-s`` real seconds (sandbox/persist.py). `make demo` / `make dev` use
``data/sandbox/world.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

import orjson


def _knob(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected KNOB=VALUE, got {text!r}")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return name.strip(), value


def _latency(text: str) -> str:
    from .latency import parse_spec

    try:
        parse_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Vendor API sandbox")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve every vendor on one loopback port")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--assets", type=int, default=1000)
    s.add_argument("--delete-window-s", type=float, default=None)
    s.add_argument("--changes-page-size", type=int, default=None)
    s.add_argument("--malformed-fraction", type=float, default=None)
    s.add_argument(
        "--latency",
        type=_latency,
        default=None,
        metavar="[VENDOR=]MS[:JITTER_MS],...",
        help="added response latency (sandbox/latency.py); default $SANDBOX_LATENCY",
    )
    s.add_argument("--state", default=None, metavar="FILE", help="persist/continue the world")
    s.add_argument("--churn-every-s", type=float, default=None, help="with --state (default 120)")
    s.add_argument("--churn", default=None, metavar="C,U,D", help="creates,updates,deletes a tick")
    s.add_argument(
        "--set",
        type=_knob,
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="any world knob (sandbox/world/knobs.py), repeatable",
    )
    a = p.parse_args(argv)
    if a.cmd == "serve":
        from .server import serve
        from .world.knobs import check_knobs

        kw = {
            k: v
            for k, v in {
                "delete_window_s": a.delete_window_s,
                "changes_page_size": a.changes_page_size,
                "malformed_fraction": a.malformed_fraction,
            }.items()
            if v is not None
        }
        try:
            kw.update(check_knobs(dict(a.set)))
        except ValueError as exc:
            p.error(str(exc))
        setup = None
        if a.state:
            from .persist import DEFAULT_EVERY_S, WorldFile

            churn = None
            if a.churn:
                c, u, d = (int(x) for x in a.churn.split(","))
                churn = {"creates": c, "updates": u, "deletes": d}
            wf = WorldFile(
                a.state, a.seed, a.assets, knobs=kw, churn=churn,
                every_s=DEFAULT_EVERY_S if a.churn_every_s is None else a.churn_every_s,
            )  # fmt: skip
            kw = wf.world_kwargs

            def setup(state, port):
                wf.data["port"] = port
                wf.attach(state)
                return wf.run()

        with contextlib.suppress(KeyboardInterrupt):
            serve(
                host=a.host, port=a.port, seed=a.seed, assets=a.assets, latency=a.latency,
                setup=setup, **kw,
            )  # fmt: skip
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
