"""The demo continues: a sandbox restarted from its world file (sandbox/persist.py, what
`make dev` and a second `make demo` do) serves the world data/ was synced from, so an
incremental sync reports only what really changed and a full refresh of an unchanged
catalog updates nothing; and stopping `make dev` ends the webserver, daemon and sandbox.

Expected changes come from the sandbox's ground truth (``expected_uplynk`` before and after),
never from the connector.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import psutil
import pytest

from sandbox.server import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
SEED, ASSETS = 11, 1500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def world_sandbox(state: Path, port: int) -> SandboxProcess:
    """A sandbox on ``state`` with no background churn (every change is the test's)."""
    return SandboxProcess(
        seed=SEED,
        assets=ASSETS,
        port=port,
        extra_args=["--state", str(state), "--churn-every-s", "0"],
    )


def sync(sb: SandboxProcess, tmp: Path, source: str, full: bool = False) -> dict:
    env = {
        **os.environ,
        **sb.env,
        "CONNECTOR_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "CONNECTOR_LAKE": str(tmp / "lake"),
    }
    cmd = [sys.executable, "-m", "connector", "sync", source] + (["--full-refresh"] if full else [])
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return orjson.loads(r.stdout.strip().splitlines()[-1])


def truth(sb: SandboxProcess) -> dict[str, tuple[int, bool]]:
    """Uplynk's ground truth: asset id -> (lastmod, deleted); malformed ones are rejects."""
    return {
        a["id"]: (a["lastmod"], bool(a.get("deleted")))
        for a in sb.expected_uplynk()
        if not a.get("malformed")
    }


def diff(before: dict, after: dict) -> dict[str, int]:
    """What a sync between the two ground truths must report: inserted, updated (a deletion
    is an update too: the stored row gets its deleted_at), deleted."""
    ins = sum(1 for k, (_, d) in after.items() if k not in before and not d)
    dele = sum(1 for k, (_, d) in after.items() if d and k in before and not before[k][1])
    upd = sum(1 for k, v in after.items() if k in before and not before[k][1] and v != before[k])
    return {"inserted": ins, "updated": upd, "deleted": dele}


def counts(report: dict) -> dict[str, int]:
    return {k: report[k] for k in ("inserted", "updated", "deleted")}


def test_a_restarted_sandbox_continues_the_world_the_warehouse_was_synced_from(tmp_path):
    state, port = tmp_path / "sandbox" / "world.json", free_port()
    with world_sandbox(state, port) as sb:  # `make demo`: sync, churn, sync
        sync(sb, tmp_path, "uplynk")
        sb.advance(3600, creates=20, updates=50, deletes=10)
        sync(sb, tmp_path, "uplynk")
        synced = truth(sb)
        now_before = sb.now_ms()
    assert state.exists(), "the sandbox left no world file behind"

    with world_sandbox(state, port) as sb:  # `make dev`: the same world, later
        assert sb.now_ms() >= now_before, "the simulated clock went back on restart"
        quiet = sync(sb, tmp_path, "uplynk")
        expected_quiet = diff(synced, truth(sb))  # autoexpiries only, almost always none
        assert counts(quiet) == expected_quiet, (
            f"an incremental sync after the restart reported {counts(quiet)}, the world "
            f"changed by {expected_quiet}: the restarted sandbox is another world"
        )
        before = truth(sb)
        sb.advance(60, creates=3, updates=5, deletes=2)
        after = truth(sb)
        real = diff(before, after)
        assert real["inserted"] == 3 and real["deleted"] == 2 and real["updated"] >= 3
        got = sync(sb, tmp_path, "uplynk")
        assert counts(got) == real, f"incremental sync reported {counts(got)}, real {real}"
        full = sync(sb, tmp_path, "uplynk", full=True)
        expected_full = diff(after, truth(sb))
        assert counts(full) == expected_full, (
            f"a full refresh of an unchanged catalog reported {counts(full)} "
            f"(expected {expected_full}): the catalog was regenerated, not continued"
        )
        assert full["unchanged"] > ASSETS * 0.9


def test_what_the_connector_changed_at_the_vendors_survives_a_restart(tmp_path):
    """An IBM video set to rule=never and an IRIS source URL refreshed before the restart are
    still so after it (the ground truth of both sandboxes, as served)."""
    from tests.sandbox.ibm_client import Ibm
    from tests.sandbox.iris_client import Iris

    state, port = tmp_path / "world.json", free_port()
    with world_sandbox(state, port) as sb:
        video = next(v for v in sb.expected_ibm() if v["listed"] and v["rule"] == "at_given_time")[
            "id"
        ]
        ibm = Ibm(sb.env)
        assert ibm.expiration(video, "PUT", {"rule": "never"}).status_code == 200
        ibm.close()
        iris_id = next(a for a in sb.expected_iris() if a["refreshable"])["iris_id"]
        iris = Iris(sb.env)
        assert iris.refresh(iris_id).status_code == 200
        iris.close()
        ibm_before = {v["id"]: v for v in sb.expected_ibm()}
        iris_before = {a["iris_id"]: a for a in sb.expected_iris()}
        assert ibm_before[video]["protected"] and ibm_before[video]["rule"] == "never"
    with world_sandbox(state, port) as sb:
        ibm_after = {v["id"]: v for v in sb.expected_ibm()}
        iris_after = {a["iris_id"]: a for a in sb.expected_iris()}
    assert ibm_after[video] == ibm_before[video], "the PUT rule=never was lost on restart"
    assert iris_after[iris_id] == iris_before[iris_id], "the refreshed URL was lost on restart"
    assert iris_after == iris_before


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_stopping_make_dev_ends_webserver_daemon_and_sandbox(tmp_path):
    """`scripts/demo.py --ui` (what `make dev` runs), SIGTERM once the UI answers: every
    process it started is gone within a few seconds."""
    ui_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "DAGSTER_"))}
    proc = subprocess.Popen(
        [sys.executable, "scripts/demo.py", "--ui", "--data", str(tmp_path),
         "--assets", "500", "--ui-port", str(ui_port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    tree: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "scripts/demo.py --ui exited before the UI came up"
            time.sleep(0.5)
        else:
            pytest.fail("the Dagster UI did not come up within 120 s")
        tree = _descendants(proc.pid)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "sandbox" in names and "dagster" in names, names
        assert "daemon" in names and "webserver" in names, names
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        gone, alive = psutil.wait_procs(tree, timeout=max(0.1, 10 - (time.monotonic() - t0)))
        took = time.monotonic() - t0
        assert not alive, f"still running {took:.1f} s after SIGTERM: {alive}"
        assert took < 10, f"stopping took {took:.1f} s"
        print(f"webserver, daemon and sandbox stopped {took:.1f} s after SIGTERM")
    finally:  # whatever happened, nothing of the test's outlives it
        for p in [*_descendants(proc.pid), *tree]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        if proc.poll() is None:
            proc.kill()
