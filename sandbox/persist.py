"""A sandbox world that outlives its process: ``python -m sandbox serve --state FILE``.

`make demo` syncs into data/ from a sandbox; `make dev` (and a second `make demo`) must
serve the *same* world on the *same* clock, or the stored cursors are ahead of a freshly
generated catalog and a full refresh "updates" every row. The world is deterministic from
(seed, assets, epoch_ms) and every change to it after the build is an ``advance`` or a
``burst`` (sandbox/world/churn.py), deterministic from the simulated ms it started at. So
the file holds only

    seed, assets, knobs, epoch_ms     the world's build (epoch = the first start's real ms)
    offset_ms                         simulated now = real now + offset_ms
    journal                           every advance / burst, with the simulated ms it ran at
    port                              the port URLs were served on (the media URLs carry it)
    ibm_never_since, iris_refreshed,  the vendors' own state the connector changes
    iris_gave_up, iris_anchor_s       (PUT rule=never, refreshed source URLs)
    saved_real_ms                     when the file was last written

and a restart rebuilds the world from its epoch, replays the journal on a frozen clock (the
same ops at the same simulated ms give the same arrays and change log), puts the vendors'
state back and thaws the clock at ``offset_ms``: the simulated now has moved on by the real
time the sandbox was down, autoexpiries due meanwhile happen at their own times, and, so
the catalog lives while nobody watched, one catch-up advance applies the churn of the time
away (``churn`` per ``every_s``, at most ``CATCH_UP_MAX_S`` of it). While running, one
small advance every ``every_s`` real seconds keeps the catalog changing a little, so a
Materialize in the UI sees a few real changes. Each op is journaled once it has run and the
file rewritten atomically then; the vendors' own state is saved within ``SAVE_EVERY_S``
and when a signal stops the sandbox.

A file written for another seed or size is not continued: a new world replaces it (the
caller says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .clock import real_now_ms

if TYPE_CHECKING:
    from .app import SandboxState

VERSION = 1
DEFAULT_EVERY_S = 120.0
DEFAULT_CHURN = {"creates": 1, "updates": 4, "deletes": 1}
CATCH_UP_MAX_S = 6 * 3600.0
TICK_SECONDS = 1.0  # simulated seconds one background advance spans
SAVE_EVERY_S = 0.5  # how soon the vendors' own changes (not journaled) reach the file
HEARTBEAT_S = 30.0  # the file is rewritten at least this often while the sandbox runs


def read_state(path: str | Path) -> dict[str, Any] | None:
    """The persisted state at ``path``, or None when there is none (or it is unreadable)."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


class WorldFile:
    """Load, replay, journal and save one sandbox world (module docstring)."""

    def __init__(
        self,
        path: str | Path,
        seed: int,
        assets: int,
        knobs: dict[str, Any] | None = None,
        port: int = 0,
        every_s: float = DEFAULT_EVERY_S,
        churn: dict[str, int] | None = None,
        out=None,
    ) -> None:
        self.path = Path(path)
        self._lock = self._take_lock()
        self.every_s = float(every_s)
        self.churn = dict(DEFAULT_CHURN if churn is None else churn)
        self.out = out or sys.stderr
        self.state: SandboxState | None = None
        self._written, self._written_at = b"", 0.0
        old = read_state(self.path)
        same = old is not None and (old.get("seed"), old.get("assets")) == (seed, assets)
        if old is not None and not same:
            self._say(
                f"{self.path}: a world of seed {old.get('seed')}, {old.get('assets')} assets; "
                f"starting a new one (seed {seed}, {assets} assets)"
            )
        self.continued = bool(same)
        now = real_now_ms()
        self.data: dict[str, Any] = (
            old
            if same and old is not None
            else {
                "version": VERSION,
                "seed": int(seed),
                "assets": int(assets),
                "knobs": dict(knobs or {}),
                "epoch_ms": now,
                "offset_ms": 0,
                "journal": [],
                "port": int(port),
                "iris_anchor_s": now // 1000,
                "saved_real_ms": now,
            }
        )
        if port:
            self.data["port"] = int(port)

    def _take_lock(self):
        """One sandbox per world file: a second one (a `make demo` while `make dev` runs)
        would journal into the same file. The lock goes with the process."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise SystemExit(
                f"another sandbox is serving the world of {self.path} (is `make dev` running?)"
            ) from None
        return f

    def _say(self, msg: str) -> None:
        print(f"# sandbox state: {msg}", file=self.out, flush=True)

    @property
    def world_kwargs(self) -> dict[str, Any]:
        """What to build the world with: its knobs and its epoch."""
        return {**self.data.get("knobs", {}), "epoch_ms": int(self.data["epoch_ms"])}

    # -- restore -----------------------------------------------------------------------
    def attach(self, state: SandboxState) -> None:
        """Replay the journal into ``state``'s freshly built world, restore the vendors'
        state, thaw the clock, catch up, then journal every later change."""
        from .ibm_state import ibm_state
        from .iris_state import iris_state

        self.state = state
        w = state.world
        clock = state.clock
        t = time.perf_counter()
        for op in self.data["journal"]:
            clock.freeze(int(op["at_ms"]))
            if op["op"] == "advance":
                w.advance(
                    float(op["seconds"]),
                    creates=int(op.get("creates", 0)),
                    updates=int(op.get("updates", 0)),
                    deletes=int(op.get("deletes", 0)),
                    burst=int(op.get("burst", 0)),
                )
            elif op["op"] == "burst":
                w.burst(deletes=int(op.get("deletes", 0)), updates=int(op.get("updates", 0)))
        clock.thaw(int(self.data["offset_ms"]))
        ibm = ibm_state(state).catalog
        ibm.never_since.update(
            {str(k): int(v) for k, v in self.data.get("ibm_never_since", {}).items()}
        )
        ibm.version += 1
        iris = iris_state(state).catalog
        iris.anchor_s = int(self.data["iris_anchor_s"])
        iris.refreshed.update(
            {int(k): int(v) for k, v in self.data.get("iris_refreshed", {}).items()}
        )
        iris.gave_up.update(int(c) for c in self.data.get("iris_gave_up", []))
        w.on_churn = self._journal
        self._save_on_signals()
        if self.continued:
            away_s = max(0.0, (real_now_ms() - int(self.data["saved_real_ms"])) / 1000)
            self._say(
                f"continuing the world of {self.path} (seed {w.seed}, {w.n_initial} assets, "
                f"{len(self.data['journal'])} changes replayed in {time.perf_counter() - t:.1f} s, "
                f"down {away_s / 60:.0f} min)"
            )
            self.catch_up(away_s)
        self.save()

    def _save_on_signals(self) -> None:
        """Save when SIGTERM / SIGINT stop the sandbox: uvicorn restores these handlers once
        the server has stopped and raises the signal it caught again."""

        def on_signal(signum: int, frame: object) -> None:
            with contextlib.suppress(Exception):
                self.save()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(0)

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, on_signal)

    def catch_up(self, away_s: float) -> dict[str, Any] | None:
        """One advance with the churn of ``away_s`` seconds (at most CATCH_UP_MAX_S)."""
        ticks = int(min(away_s, CATCH_UP_MAX_S) // self.every_s) if self.every_s > 0 else 0
        if ticks <= 0 or not any(self.churn.values()):
            return None
        return self.tick(scale=ticks)

    # -- journal and save --------------------------------------------------------------
    def _journal(self, op: dict[str, Any]) -> None:
        """World.on_churn: an advance or burst just ran (the world's lock is held)."""
        self.data["journal"].append(op)
        self.save()

    def tick(self, scale: int = 1) -> dict[str, Any] | None:
        """One background advance of ``churn`` x ``scale`` changes over TICK_SECONDS."""
        st = self.state
        if st is None or st.world.on_churn is None:
            return None  # the world was reset by /_control/reset: not ours to churn
        counts = {k: int(v) * scale for k, v in self.churn.items()}
        return st.world.advance(TICK_SECONDS, **counts)  # journaled and saved by the hook

    def snapshot(self) -> dict[str, Any]:
        """The file's content now."""
        st = self.state
        d = self.data
        if st is not None:
            d["offset_ms"] = int(st.clock.offset_ms)
            ibm = getattr(st, "_ibm_state", None)
            if ibm is not None and ibm.world is st.world:
                d["ibm_never_since"] = dict(ibm.catalog.never_since)
            iris = getattr(st, "_iris_state", None)
            if iris is not None and iris.world is st.world:
                d["iris_refreshed"] = {str(k): v for k, v in iris.catalog.refreshed.items()}
                d["iris_gave_up"] = sorted(iris.catalog.gave_up)
        d["saved_real_ms"] = real_now_ms()
        return d

    def save(self, if_changed: bool = False) -> None:
        """Write the file atomically (a world replaced by /_control/reset is not saved);
        ``if_changed``: only when something but ``saved_real_ms`` changed, or every
        ``HEARTBEAT_S`` (the file's age tells a restart how long the sandbox was down)."""
        st = self.state
        if st is not None and st.world.on_churn is None:
            return  # the world was reset: the file keeps the world data/ was synced from
        data = self.snapshot()
        body = orjson.dumps({k: v for k, v in data.items() if k != "saved_real_ms"})
        if (
            if_changed
            and body == self._written
            and time.monotonic() - self._written_at < HEARTBEAT_S
        ):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        os.replace(tmp, self.path)
        self._written, self._written_at = body, time.monotonic()

    async def run(self) -> None:
        """Churn every ``every_s`` real seconds; save the vendors' own changes (an IBM PUT,
        an IRIS refresh) within ``SAVE_EVERY_S`` (and on SIGTERM / SIGINT)."""
        next_tick = time.monotonic() + self.every_s
        try:
            while True:
                await asyncio.sleep(SAVE_EVERY_S)
                if self.every_s > 0 and time.monotonic() >= next_tick:
                    next_tick += self.every_s
                    self.tick()
                self.save(if_changed=True)
        finally:
            with contextlib.suppress(Exception):
                self.save()
