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
from urllib.parse import urlencode

import httpx
import orjson

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


class SandboxProcess:
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

    # Uplynk helpers (see sandbox/uplynk_control.py; knobs go through reset() / config():
    # uplynk_clock_offset_s, cap_changes_per_ms, get_unknown, create_action, numbers_as_strings)
    def uplynk_burst(self, deletes: int = 0, updates: int = 0) -> dict[str, Any]:
        """``deletes`` live assets deleted and ``updates`` others updated at ONE millisecond,
        never capped. Returns ts_ms, uplynk_ts_ms (feed clock), deleted_ids, updated_ids."""
        return self._call("POST", "/uplynk/burst", {"deletes": deletes, "updates": updates})

    def uplynk_stats(self) -> dict[str, Any]:
        """get_batches, get_error_batches, get_unknown_ids, changes_pages, bursts (each
        with ts_ms, uplynk_ts_ms, deletes, updates), knobs, now_ms, uplynk_now_ms."""
        return self._call("GET", "/uplynk/stats")

    def uplynk_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/uplynk/stats/reset")

    def uplynk_now_ms(self) -> int:
        """The simulated now on the Uplynk feed's clock (now_ms + the feed's offset)."""
        return int(self._call("GET", "/now")["uplynk_now_ms"])

    # IBM helpers (see sandbox/ibm.py; IBM state is rebuilt with the world on reset)
    def ibm_config(self, **knobs: Any) -> dict[str, Any]:
        """Set IBM knobs (sandbox/ibm_state.py): ``token_ttl_s``, ``rate_limits={name:
        {limit, window_s}}`` (token, videos, expiration, client), ``ratelimit_scope``
        ("endpoint" | "client"), ``p_503``, ``put_body`` ("empty" | "json"),
        ``listing_order`` ("recent" | "oldest"), ``listing_churn`` ({every_requests, uploads,
        deletes, delete_from} or None); no arguments: the current config."""
        if not knobs:
            return self._call("GET", "/ibm/config")
        return self._call("POST", "/ibm/config", knobs)

    def ibm_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every live IBM token now, or after ``after_requests`` more API requests."""
        body = {} if after_requests is None else {"after_requests": after_requests}
        return self._call("POST", "/ibm/revoke", body)

    def ibm_stats(self) -> dict[str, Any]:
        """Requests and 429s per endpoint, tokens issued / revoked, PUTs."""
        return self._call("GET", "/ibm/stats")

    def ibm_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/ibm/stats/reset")

    def ibm_tokens(self) -> list[str]:
        """Every IBM access token the sandbox issued since the last reset."""
        return list(self._call("GET", "/ibm/tokens")["tokens"])

    def expected_ibm(self) -> Iterator[dict[str, Any]]:
        """Every IBM video the world knows, with ``listed``, ``rule``, ``expires_at``,
        ``check_error``, ``malformed``, ``channel_id`` as of the simulated now."""
        return self._ndjson("/ibm/videos")

    def ibm_listings(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ground truth of the last 64 channel listings, oldest first: ``channel``, ``state``
        (in_progress | complete | abandoned), ``pages``, ``existed_throughout`` (ids live from
        its page 1 to its last page), ``uploaded`` and ``deleted`` (ids, during it)."""
        path = "/ibm/listings" + (f"?channel={channel}" if channel else "")
        return list(self._call("GET", path)["listings"])

    def ibm_clear_listings(self) -> None:
        self._call("DELETE", "/ibm/listings")

    def ibm_churn(
        self,
        channel: str,
        uploads: int = 0,
        deletes: int = 0,
        delete_ids: list[str] | tuple[str, ...] = (),
    ) -> dict[str, list[str]]:
        """Upload to / delete from an IBM channel now -> ``{"uploaded": ids, "deleted": ids}``."""
        body = {"channel": channel, "uploads": uploads, "deletes": deletes}
        return self._call("POST", "/ibm/churn", {**body, "delete_ids": list(delete_ids)})

    # Response defects (sandbox/defects.py; cleared by reset)
    def defects(
        self, rules: dict[str, Any] | list[dict[str, Any]] | None = None, **rule: Any
    ) -> list[dict[str, Any]]:
        """Replace the defect rules with ``rules`` (one or a list) or the one ``rule`` given
        as keywords (kind=..., vendor=..., path=..., times=..., params=...)."""
        return self._call("POST", "/defects", rules if rules is not None else rule)["rules"]

    def defects_status(self) -> list[dict[str, Any]]:
        """The rules, each with ``matched``, ``applied`` and ``spent``."""
        return self._call("GET", "/defects")["rules"]

    def clear_defects(self) -> None:
        self._call("DELETE", "/defects")

    # VALT helpers (see sandbox/valt.py and sandbox/valt_control.py; rebuilt with the world)
    def valt_config(self, **knobs: Any) -> dict[str, Any]:
        """Set VALT knobs (sandbox/valt_state.py): ``token_ttl_s``, ``download_ttl_s``,
        ``id_style`` ("uuid" | "int"), ``list_cap``, ``download_shape`` ("top" | "data" |
        "mixed"), ``video_bytes``, ``cdn_drop_after_bytes``, ``cdn_drop_times``,
        ``cdn_rate_bytes_s``; no arguments: the current config."""
        if not knobs:
            return self._call("GET", "/valt/config")
        return self._call("POST", "/valt/config", knobs)

    def valt_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every VALT access token now, or after ``after_requests`` more API requests."""
        body = {} if after_requests is None else {"after_requests": after_requests}
        return self._call("POST", "/valt/revoke", body)

    def valt_churn(self, **counts: Any) -> dict[str, list[Any]]:
        """``creates``, ``renames``, ``retention_changes``, ``deletes`` (counts), optionally
        ``rename_ids`` / ``retention_ids`` / ``delete_ids`` and ``retention`` (an object),
        applied now -> ``{"created", "renamed", "retention_changed", "deleted": [ids]}``."""
        return self._call("POST", "/valt/churn", counts)

    def valt_stats(self) -> dict[str, Any]:
        """Requests per endpoint, 401/403/404s, logins, tokens, URLs, CDN bytes and ranges."""
        return self._call("GET", "/valt/stats")

    def valt_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/valt/stats/reset")

    def valt_tokens(self) -> dict[str, list[str]]:
        """``{"tokens": access tokens issued, "url_tokens": download JWTs minted}``."""
        return self._call("GET", "/valt/tokens")

    def expected_valt(
        self, sha256: bool = True, ids: list[Any] | tuple[Any, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every VALT recording ever known (or only ``ids``): details as served, ``deleted``,
        and per video ``bytes`` and (unless ``sha256=False``) ``sha256`` of what the CDN
        serves (hashing takes ~1 s per GB of videos: ask for the ids you need)."""
        query = [("sha256", "1" if sha256 else "0")] + [("id", str(i)) for i in ids]
        return self._ndjson("/valt/expected?" + urlencode(query))

    # IRIS helpers (see sandbox/iris.py, iris_control.py; IRIS state is rebuilt with the world)
    def iris_config(self, **knobs: Any) -> dict[str, Any]:
        """Set IRIS knobs (sandbox/iris_state.py): ``token_ttl_s``, ``refresh_error_p``,
        ``slow_s`` (the media CDN's slow URLs), ``url_ttl_s``, ``number_max``; no arguments:
        the current config (with ``anchor_s``, where source URL expiries are anchored)."""
        if not knobs:
            return self._call("GET", "/iris/config")
        return self._call("POST", "/iris/config", knobs)

    def iris_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every IRIS access token now, or after ``after_requests`` more API calls."""
        body = {} if after_requests is None else {"after_requests": after_requests}
        return self._call("POST", "/iris/revoke", body)

    def iris_stats(self) -> dict[str, Any]:
        """Responses per endpoint, ``recs_only_violations``, ``refresh_violations``,
        ``refreshes`` by outcome, tokens, experiences, and ``cdn`` (the media CDN's)."""
        return self._call("GET", "/iris/stats")

    def iris_reset_stats(self) -> dict[str, Any]:
        """Zero the IRIS and media CDN counters."""
        return self._call("POST", "/iris/stats/reset")

    def iris_tokens(self) -> list[str]:
        """Every IRIS access token issued since the last reset."""
        return list(self._call("GET", "/iris/tokens")["tokens"])

    def iris_default_recs(self, number: int | None = None) -> list[str]:
        """The iris_ids a Watch for an unknown platform_id returns (default number_max)."""
        q = "" if number is None else f"?number={int(number)}"
        return list(self._call("GET", "/iris/default_recs" + q)["recommendations"])

    def expected_iris(self, number: int | None = None) -> Iterator[dict[str, Any]]:
        """Every IRIS asset as the data API serves it now, with platform_id,
        source_url_kind, expires, refreshable, refresh_expired, gave_up and the
        recommendations a Watch returns (``number`` of them, default number_max)."""
        return self._ndjson("/iris/expected" + ("" if number is None else f"?number={number}"))

    def expected_media(self) -> Iterator[dict[str, Any]]:
        """Every media CDN URL the sandbox knows (Uplynk mp4_urls, IRIS source URLs):
        system, id, url, kind, expires (null for Uplynk), head_allowed."""
        return self._ndjson("/media/expected")

    def media_stats(self) -> dict[str, Any]:
        """The media CDN's counters: statuses, methods, systems, range requests, bytes,
        max_in_flight."""
        return self._call("GET", "/media/stats")

    def media_config(self, **knobs: Any) -> dict[str, Any]:
        """``head_405_share``: the share of CDN URLs answering HEAD with 405."""
        if not knobs:
            return self._call("GET", "/media/config")
        return self._call("POST", "/media/config", knobs)
