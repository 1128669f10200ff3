"""IRIS.TV's mutable state for one world: tokens, experiences, the refresh ledger, knobs and
counters (rebuilt with the world on reset).

Knobs (``POST /_control/iris/config``; every one optional):

    token_ttl_s      float > 0, real seconds an access token lives (default 3600)
    refresh_error_p  probability in [0, 1] that a source_url refresh answers 500 or 503
                     (half each) with ``{"errors": [...]}`` (default 0)
    slow_s           float >= 0, seconds the media CDN waits before answering a ``slow``
                     URL (default 2)
    url_ttl_s        int > 0, lifetime of a source URL minted by a refresh (default 3600)
    number_max       int >= 1, most recommendations one Watch/Next returns; a larger
                     ``number`` is clamped to it silently (default 25)

Counters (``GET /_control/iris/stats``): responses per endpoint and status,
``recs_only_violations`` (Watch/Next calls whose ``recs_only`` is not exactly ``true``, with
the values seen), ``refresh_violations`` (refreshes the vendor's rules forbid: ``not_available``
for an asset whose source_url is NOT_AVAILABLE, ``after_expired`` for one already answered
with an expired URL), ``refreshes`` by outcome, ``refreshes_before_expiry`` (a refresh of a URL
that had not expired yet: allowed, but wasted), tokens issued / revoked, experiences started.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .credentials import IrisCredentials, iris_credentials
from .iris_catalog import IrisCatalog
from .tokens import TokenBook
from .world import World
from .world.mixing import mix_int, salt_of

if TYPE_CHECKING:
    from .app import SandboxState

KNOBS = ("token_ttl_s", "refresh_error_p", "slow_s", "url_ttl_s", "number_max")
DEFAULTS: dict[str, Any] = {
    "token_ttl_s": 3600.0,
    "refresh_error_p": 0.0,
    "slow_s": 2.0,
    "url_ttl_s": 3600,
    "number_max": 25,
}
MAX_EXPERIENCES = 100_000  # the oldest experiences are forgotten past this many
MAX_TOKENS = 10_000


@dataclass
class Experience:
    """What a Watch started: the asset (None: unknown, default recommendations), the version
    its recommendations were computed at, and how many the experience has served."""

    code: int | None
    version: int
    served: int
    updates: int = 0


def _check(name: str, v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{name} must be a number")
    if name == "refresh_error_p" and not 0.0 <= v <= 1.0:
        raise ValueError("refresh_error_p must be in [0, 1]")
    if name in ("token_ttl_s", "url_ttl_s") and v <= 0:
        raise ValueError(f"{name} must be positive")
    if name == "slow_s" and v < 0:
        raise ValueError("slow_s must be >= 0")
    if name in ("url_ttl_s", "number_max"):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1")
        return int(v)
    return float(v)


class IrisState:
    """IRIS's mutable state for one world (rebuilt when the world is reset)."""

    def __init__(self, world: World, creds: IrisCredentials) -> None:
        self.world = world
        self.creds = creds
        self.lock = threading.Lock()
        self.knobs: dict[str, Any] = dict(DEFAULTS)
        self.catalog = IrisCatalog(world, creds.platform)
        self.rng = random.Random(f"{world.seed}:iris")
        self.tokens = TokenBook(lambda: secrets.token_hex(20))
        self.experiences: dict[str, Experience] = {}
        self._exp_key = salt_of(world.seed, "iris-experience")
        self._exp_count = 0
        self.reset_stats()

    # -- knobs and counters ------------------------------------------------------------
    def configure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply knobs (module docstring); nothing changes when one is invalid."""
        unknown = set(body) - set(KNOBS)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}; knobs: {list(KNOBS)}")
        checked = {k: _check(k, v) for k, v in body.items()}
        self.knobs.update(checked)
        return self.config()

    def config(self) -> dict[str, Any]:
        return {
            **self.knobs,
            "revoke_after": self.tokens.revoke_after,
            "anchor_s": self.catalog.anchor_s,
        }

    def reset_stats(self) -> None:
        self.responses: Counter[tuple[str, int]] = Counter()
        self.recs_only_values: Counter[str] = Counter()
        self.refresh_violations: Counter[str] = Counter()
        self.refresh_outcomes: Counter[str] = Counter()
        self.refreshes_before_expiry = 0
        self.tokens.reset_counts()
        self.experiences_started = 0
        self.behaviors: Counter[str] = Counter()
        self.asset_reads: Counter[str] = Counter()  # data API reads per iris_id
        self.watches_before_first_read: int | None = None
        self.reads_before_first_refresh: int | None = None

    def count(self, endpoint: str, status: int) -> None:
        self.responses[(endpoint, status)] += 1

    def note_asset_read(self, iris_id: str) -> None:
        """A data API read: counted per iris_id, and how many Watch calls had been answered
        when the first one came (a client that reads only after its Watch walk: all)."""
        self.asset_reads[iris_id] += 1
        if self.watches_before_first_read is None:
            self.watches_before_first_read = sum(
                c for (e, _), c in self.responses.items() if e == "watch"
            )

    def note_refresh(self) -> None:
        """A refresh request: how many data API reads had come when the first one came (a
        client that refreshes only after its last read: all of them)."""
        if self.reads_before_first_refresh is None:
            self.reads_before_first_refresh = sum(self.asset_reads.values())

    def stats(self) -> dict[str, Any]:
        requests: Counter[str] = Counter()
        for (e, _), c in self.responses.items():
            requests[e] += c
        return {
            "requests": dict(requests),
            "responses": [
                {"endpoint": e, "status": s, "count": c}
                for (e, s), c in sorted(self.responses.items())
            ],
            "recs_only_violations": sum(self.recs_only_values.values()),
            "recs_only_values": dict(self.recs_only_values),
            "refresh_violations": sum(self.refresh_violations.values()),
            "refresh_violations_by_reason": dict(self.refresh_violations),
            "refreshes": dict(self.refresh_outcomes),
            "refreshes_before_expiry": self.refreshes_before_expiry,
            "tokens_issued": self.tokens.issued,
            "tokens_revoked": self.tokens.revoked,
            "tokens_live": self.tokens.live(),
            "experiences_started": self.experiences_started,
            "behaviors": dict(self.behaviors),
            "gave_up": len(self.catalog.gave_up),
            "refreshed": len(self.catalog.refreshed),
            "asset_reads_max_per_id": max(self.asset_reads.values(), default=0),
            "asset_read_ids": len(self.asset_reads),
            "watches_before_first_read": self.watches_before_first_read,
            "reads_before_first_refresh": self.reads_before_first_refresh,
        }

    # -- tokens ------------------------------------------------------------------------
    def issue(self) -> str:
        return self.tokens.issue(self.knobs["token_ttl_s"])

    def token_ok(self, token: str) -> bool:
        """Spends one request of a pending ``revoke_after``; True for a live token."""
        return self.tokens.is_live(token)

    # -- experiences -------------------------------------------------------------------
    def start_experience(self, code: int | None, version: int, served: int) -> str:
        """A new experience id (24 hex, deterministic from the seed and a counter)."""
        with self.lock:
            self._exp_count += 1
            k = self._exp_count
            h = mix_int(self._exp_key + k)
            eid = f"{h:016x}{mix_int(h ^ self._exp_key) >> 32:08x}"
            if len(self.experiences) >= MAX_EXPERIENCES:
                del self.experiences[next(iter(self.experiences))]
            self.experiences[eid] = Experience(code, version, served)
            self.experiences_started += 1
        return eid


def iris_state(state: SandboxState) -> IrisState:
    """The IRIS state of the sandbox's current world (built on first use after a reset)."""
    st = getattr(state, "_iris_state", None)
    if st is None or st.world is not state.world:
        creds = getattr(state, "iris_credentials", None)
        if creds is None:
            creds = iris_credentials()
            state.iris_credentials = creds  # type: ignore[attr-defined]
        st = IrisState(state.world, creds)
        state._iris_state = st  # type: ignore[attr-defined]
    return st
