"""python -m sandbox serve --port P [--host 127.0.0.1] [--seed S] [--assets N]
[--set KNOB=VALUE ...]

``--set`` takes any world knob of sandbox/world/knobs.py, the value as JSON when it parses
(``--set uplynk_clock_offset_s=-10800 --set get_unknown=error --set create_action=true``).
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
        with contextlib.suppress(KeyboardInterrupt):
            serve(host=a.host, port=a.port, seed=a.seed, assets=a.assets, **kw)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
