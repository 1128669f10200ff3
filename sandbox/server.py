"""Run the sandbox (in-process, for ``python -m sandbox serve``) or drive it as a subprocess
(``SandboxProcess``, for tests, the demo and benchmarks).

    with SandboxProcess(seed=7, assets=2000) as sb:
        sb.env["UPLYNK_BASE_URL"]; sb.control_url
        sb.reset(seed=7, assets=2000); sb.advance(60, updates=10)
        sb.faults(scope="uplynk", p503=0.1); sb.clear_faults(); sb.stats()
        rows = list(sb.expected_uplynk())
        sb.ibm_config(token_ttl_s=2, rate_limits={"expiration": {"limit": 200, "window_s": 1}})
        sb.ibm_revoke(after_requests=100); sb.ibm_stats(); rows = list(sb.expected_ibm())
        sb.valt_config(id_style="int", token_ttl_s=1); sb.valt_churn(renames=3, deletes=2)
        sb.valt_revoke(); sb.valt_stats(); rows = list(sb.expected_valt())
        sb.iris_config(token_ttl_s=2, refresh_error_p=0.2); sb.iris_revoke(); sb.iris_stats()
        rows = list(sb.expected_iris()); urls = list(sb.expected_media())
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from .process_controls import VendorControls

READY_LINE = "# sandbox ready"


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    assets: int = 1000,
    out=None,
    latency: str | None = None,
    setup: Callable[[Any, int], Awaitable[None] | None] | None = None,
    **world_kwargs: Any,
) -> None:
    """Build the world, bind, start uvicorn, print KEY=value lines and the ready line.
    ``latency``: ``[VENDOR=]MS[:JITTER_MS],...`` over ``SANDBOX_LATENCY`` (sandbox/latency.py)."""
    import uvicorn

    from . import latency as latency_mod
    from .app import SandboxState, create_app, env_lines

    out = out or sys.stdout
    state = SandboxState(seed=seed, assets=assets, **world_kwargs)
    lat = latency_mod.of(state)
    if latency:
        lat.set(latency_mod.parse_spec(latency))
    app = latency_mod.LatencyMiddleware(create_app(state), lat, state.stats)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
    sock.bind((host, port))
    sock.listen(2048)
    real_port = sock.getsockname()[1]
    # setup(state, port): sandbox/persist.py restores a world; may return a background task
    background = setup(state, real_port) if setup is not None else None
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=30,
        backlog=2048,
    )
    server = uvicorn.Server(config)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
                return
            await asyncio.sleep(0.01)
        base = f"http://{host}:{real_port}"
        for k, v in env_lines(base, state):
            print(f"{k}={v}", file=out, flush=True)
        print(READY_LINE, file=out, flush=True)
        bg = asyncio.create_task(background) if background is not None else None
        await task
        if bg is not None:
            bg.cancel()
            await asyncio.gather(bg, return_exceptions=True)

    asyncio.run(main())


class SandboxProcess(VendorControls):
    """``python -m sandbox serve`` as a subprocess, with helpers over the control API."""

    def __init__(
        self,
        seed: int = 0,
        assets: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        python: str | None = None,
        latency: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self.args = [
            python or sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--assets",
            str(assets),
        ]
        if latency:  # [VENDOR=]MS[:JITTER_MS],... (sandbox/latency.py)
            self.args += ["--latency", latency]
        self.args += list(extra_args or [])  # e.g. ["--state", path] (sandbox/persist.py)
        self.proc_env = {**os.environ, **(env or {})}
        root = str(Path(__file__).resolve().parent.parent)
        self.proc_env["PYTHONPATH"] = root + os.pathsep + self.proc_env.get("PYTHONPATH", "")
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        self.control_url = ""
        self._http: httpx.Client | None = None

    # lifecycle
    def start(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=None, env=self.proc_env, text=True, bufsize=1
        )
        lines: list[str] = []
        done, ready = threading.Event(), threading.Event()

        def reader() -> None:
            assert self.proc and self.proc.stdout
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                if line == READY_LINE:
                    ready.set()
                    break
                lines.append(line)
            done.set()  # ready, or the output ended (the process is exiting)

        threading.Thread(target=reader, daemon=True).start()
        if (
            not done.wait(self.startup_timeout)
            or not ready.is_set()
            or self.proc.poll() is not None
        ):
            self.stop()
            raise RuntimeError(f"sandbox did not start; output: {lines}")
        for line in lines:
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                self.env[k.strip()] = v.strip()
        self.control_url = self.env["SANDBOX_CONTROL_URL"]
        self._http = httpx.Client(base_url=self.control_url, timeout=300.0)
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.control_url.rsplit("/_control", 1)[0]

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    # control API helpers
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._http is not None, "sandbox not started"
        r = self._http.request(method, path, content=None if body is None else orjson.dumps(body))
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
        return r.json()

    def reset(self, seed: int = 7, assets: int = 2000, **knobs: Any) -> dict[str, Any]:
        return self._call("POST", "/reset", {"seed": seed, "assets": assets, **knobs})

    def config(self, **knobs: Any) -> dict[str, Any]:
        return self._call("POST", "/config", knobs)

    def advance(
        self, seconds: float, creates: int = 0, updates: int = 0, deletes: int = 0, burst: int = 0
    ) -> dict[str, Any]:
        return self._call(
            "POST",
            "/advance",
            {
                "seconds": seconds,
                "creates": creates,
                "updates": updates,
                "deletes": deletes,
                "burst": burst,
            },
        )

    def faults(
        self, rules: dict[str, Any] | list[dict[str, Any]] | None = None, **rule: Any
    ) -> dict[str, Any]:
        return self._call("POST", "/faults", rules if rules is not None else rule)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "/faults")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/stats/reset")

    def latency(self, **delays: Any) -> dict[str, Any]:
        """Set the added latency: ``latency(default={"ms": 150, "jitter_ms": 20},
        uplynk={"ms": 50})`` (a number is ms without jitter; ``valt_cdn`` = ``valt-cdn``);
        no arguments: the current settings. Kept across world resets."""
        if not delays:
            return self._call("GET", "/latency")
        body = {k.replace("_", "-"): v for k, v in delays.items()}
        return self._call("POST", "/latency", body)

    def clear_latency(self) -> dict[str, Any]:
        return self._call("DELETE", "/latency")

    def now_ms(self) -> int:
        return int(self._call("GET", "/now")["now_ms"])

    def world(self) -> dict[str, Any]:
        return self._call("GET", "/world")

    def _ndjson(self, path: str) -> Iterator[dict[str, Any]]:
        assert self._http is not None
        with self._http.stream("GET", path) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if line:
                    yield orjson.loads(line)

    def expected_uplynk(self) -> Iterator[dict[str, Any]]:
        return self._ndjson("/uplynk/expected")

    def truth(self) -> Iterator[dict[str, Any]]:
        return self._ndjson("/truth")
