"""IBM's mutable state for one world: tokens, rate-limit budgets, knobs, counters, catalog.

Knobs (``POST /_control/ibm/config``; every one optional, rebuilt with the world on reset):

    token_ttl_s      float > 0, real seconds a token lives (default 86400)
    rate_limits      {name: {"limit": int >= 1, "window_s": float > 0}}; names: token, videos,
                     expiration (per-endpoint budgets), client (the per-address budget)
    ratelimit_scope  "endpoint" (default): one budget per endpoint; "client": one budget per
                     client address shared by the API endpoints (videos and expiration). The
                     token endpoint keeps its own budget in both scopes: at the vendor it is
                     another host (video.ibm.com, the API is api.video.ibm.com).
    p_503            probability of a 503 temporarily_unavailable on an API call
    put_body         "empty" (default): a successful PUT expiration answers 200 with an empty
                     body (the doc describes none); "json": 200 {"success": true}
    listing_order    "recent" (default, the vendor's): newest created_at first; "oldest"
    listing_churn    uploads/deletes between the pages of a listing (see ibm_churn.py), null off
"""

from __future__ import annotations

import math
import random
import secrets
import threading
from typing import TYPE_CHECKING, Any

from .credentials import IbmCredentials, ibm_credentials
from .ibm_catalog import ORDERS, IbmCatalog
from .ibm_churn import ChurnSpec, ListingTracker
from .tokens import TokenBook
from .world import World

if TYPE_CHECKING:
    from .app import SandboxState

PAGESIZE_MAX = 50
ENDPOINTS = ("token", "videos", "expiration")
BUDGETS = (*ENDPOINTS, "client")
DEFAULT_LIMITS = {
    "token": (20, 1.0),
    "videos": (200, 1.0),
    "expiration": (2000, 1.0),
    "client": (2000, 1.0),
}
SCOPES = ("endpoint", "client")
PUT_BODIES = ("empty", "json")
DEFAULT_TOKEN_TTL_S = 86400.0
KNOBS = (
    "token_ttl_s",
    "rate_limits",
    "ratelimit_scope",
    "p_503",
    "put_body",
    "listing_order",
    "listing_churn",
)


class Window:
    """One fixed-window budget (real Unix time)."""

    __slots__ = (
        "limit",
        "window_s",
        "index",
        "count",
        "served_429",
        "requests",
        "busiest",
        "windows",
    )

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = int(limit)
        self.window_s = float(window_s)
        self.index = -1
        self.count = 0
        self.served_429 = 0
        self.requests = 0
        self.busiest = 0  # most requests served (not 429) in one window
        self.windows = 0  # windows in which it served at least one request

    def hit(self, now: float) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Spend one request; (allowed, the X-RateLimit-* headers of this budget)."""
        self.requests += 1
        idx = math.floor(now / self.window_s)
        if idx != self.index:
            self.index = idx
            self.count = 0
        ok = self.count < self.limit
        if ok:
            self.count += 1
            if self.count == 1:
                self.windows += 1
            if self.count > self.busiest:
                self.busiest = self.count
        else:
            self.served_429 += 1
        reset = (idx + 1) * self.window_s
        reset_s = str(int(round(reset))) if abs(reset - round(reset)) < 1e-6 else f"{reset:.3f}"
        return ok, [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, self.limit - self.count)).encode()),
            (b"x-ratelimit-reset", reset_s.encode()),
        ]

    def public(self) -> dict[str, Any]:
        return {"limit": self.limit, "window_s": self.window_s}


class RateBudgets:
    """The budgets of ``ratelimit_scope`` and per-endpoint request / 429 counters."""

    def __init__(self) -> None:
        self.scope = "endpoint"
        self.specs: dict[str, tuple[int, float]] = dict(DEFAULT_LIMITS)
        self.windows = {ep: Window(*self.specs[ep]) for ep in ENDPOINTS}
        self.clients: dict[str, Window] = {}
        self.requests = dict.fromkeys(ENDPOINTS, 0)
        self.served_429 = dict.fromkeys(ENDPOINTS, 0)

    def hit(self, endpoint: str, client: str, now: float) -> tuple[bool, list[tuple[bytes, bytes]]]:
        if self.scope == "client" and endpoint != "token":
            w = self.clients.get(client)
            if w is None:
                w = self.clients[client] = Window(*self.specs["client"])
        else:
            w = self.windows[endpoint]
        ok, headers = w.hit(now)
        self.requests[endpoint] += 1
        if not ok:
            self.served_429[endpoint] += 1
        return ok, headers

    def parse(self, limits: dict[str, Any]) -> dict[str, tuple[int, float]]:
        """``{name: {limit?, window_s?}}`` -> specs (a missing field keeps its current value)."""
        out = {}
        for name, spec in limits.items():
            if name not in BUDGETS:
                raise ValueError(f"unknown rate limit {name!r}; one of {BUDGETS}")
            limit = int(spec.get("limit", self.specs[name][0]))
            window = float(spec.get("window_s", self.specs[name][1]))
            if limit < 1 or window <= 0:
                raise ValueError("limit must be >= 1 and window_s > 0")
            out[name] = (limit, window)
        return out

    def configure(self, specs: dict[str, tuple[int, float]], scope: str | None) -> None:
        for name, spec in specs.items():
            self.specs[name] = spec
            if name == "client":
                self.clients.clear()
            else:
                self.windows[name] = Window(*spec)
        if scope is not None:
            self.scope = scope

    def public(self) -> dict[str, dict[str, Any]]:
        return {n: {"limit": s[0], "window_s": s[1]} for n, s in self.specs.items()}

    def busiest(self) -> dict[str, int]:
        """Per endpoint budget: the most requests it served in one window."""
        return {ep: w.busiest for ep, w in self.windows.items()}

    def windows_used(self) -> dict[str, int]:
        """Per endpoint budget: the windows in which it served requests."""
        return {ep: w.windows for ep, w in self.windows.items()}

    def per_client(self) -> dict[str, dict[str, int]]:
        return {
            a: {"requests": w.requests, "responses_429": w.served_429}
            for a, w in sorted(self.clients.items())
        }

    def reset_counts(self) -> None:
        for counts in (self.requests, self.served_429):
            for k in counts:
                counts[k] = 0
        for w in (*self.clients.values(), *self.windows.values()):
            w.requests = w.served_429 = w.busiest = w.windows = 0


class IbmState:
    """IBM's mutable state for one world (rebuilt when the world is reset)."""

    def __init__(self, world: World, creds: IbmCredentials) -> None:
        self.world = world
        self.creds = creds
        self.lock = threading.Lock()
        self.token_ttl_s = DEFAULT_TOKEN_TTL_S
        self.tokens = TokenBook(lambda: secrets.token_urlsafe(32))
        self.limits = RateBudgets()
        self.p_503 = 0.0
        self.put_body = "empty"
        self.rng = random.Random(f"{world.seed}:ibm")
        self.puts = 0
        self.responses: dict[tuple[str, int], int] = {}
        self.catalog = IbmCatalog(world)
        self.listings = ListingTracker(self.catalog, world.seed)

    # -- counters / config -----------------------------------------------------------
    def count(self, endpoint: str, status: int) -> None:
        k = (endpoint, status)
        self.responses[k] = self.responses.get(k, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.limits.requests),
            "responses_429": dict(self.limits.served_429),
            "ratelimit_scope": self.limits.scope,
            "busiest_window": self.limits.busiest(),
            "windows_used": self.limits.windows_used(),
            "clients": self.limits.per_client(),
            "responses": [
                {"endpoint": e, "status": s, "count": c}
                for (e, s), c in sorted(self.responses.items())
            ],
            "tokens_issued": self.tokens.issued,
            "tokens_revoked": self.tokens.revoked,
            "tokens_live": self.tokens.live(),
            "puts": self.puts,
            "protected": len(self.catalog.never_since),
            "uploaded": len(self.catalog.uploads),
            "removed": len(self.catalog.removed),
        }

    def reset_stats(self) -> None:
        self.limits.reset_counts()
        self.responses.clear()
        self.tokens.reset_counts()
        self.puts = 0

    def config(self) -> dict[str, Any]:
        churn = self.listings.churn
        return {
            "token_ttl_s": self.token_ttl_s,
            "rate_limits": self.limits.public(),
            "ratelimit_scope": self.limits.scope,
            "p_503": self.p_503,
            "pagesize_max": PAGESIZE_MAX,
            "revoke_after": self.tokens.revoke_after,
            "put_body": self.put_body,
            "listing_order": self.catalog.order,
            "listing_churn": None if churn is None else churn.public(),
        }

    def configure(self, body: dict[str, Any]) -> None:
        """Apply knobs (see the module docstring); nothing changes when one is invalid."""
        unknown = set(body) - set(KNOBS)
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        ttl = float(body.get("token_ttl_s", self.token_ttl_s))
        if ttl <= 0:
            raise ValueError("token_ttl_s must be positive")
        limits = self.limits.parse(body.get("rate_limits") or {})
        scope = body.get("ratelimit_scope")
        if scope is not None and scope not in SCOPES:
            raise ValueError(f"ratelimit_scope: one of {SCOPES}")
        put_body = body.get("put_body", self.put_body)
        if put_body not in PUT_BODIES:
            raise ValueError(f"put_body: one of {PUT_BODIES}")
        order = body.get("listing_order", self.catalog.order)
        if order not in ORDERS:
            raise ValueError(f"listing_order: one of {ORDERS}")
        churn = ChurnSpec.parse(body["listing_churn"]) if "listing_churn" in body else None
        p_503 = float(body.get("p_503", self.p_503))
        # all valid: apply
        self.token_ttl_s = ttl
        self.limits.configure(limits, scope)
        self.put_body = put_body
        self.catalog.order = order
        if "listing_churn" in body:
            self.listings.churn = churn
        self.p_503 = p_503

    # -- tokens ------------------------------------------------------------------------
    def issue(self) -> tuple[str, int]:
        return self.tokens.issue(self.token_ttl_s), int(math.ceil(self.token_ttl_s))

    def token_ok(self, authorization: str | None) -> bool:
        """A live token in ``Authorization: Bearer ...`` (spends one ``revoke_after``)."""
        scheme, _, token = (authorization or "").partition(" ")
        return self.tokens.is_live(token.strip() if scheme.lower() == "bearer" else None)


def ibm_state(state: SandboxState) -> IbmState:
    """The IBM state of the sandbox's current world (built on first use after a reset)."""
    st = getattr(state, "_ibm_state", None)
    if st is None or st.world is not state.world:
        creds = getattr(state, "ibm_credentials", None)
        if creds is None:
            creds = ibm_credentials()
            state.ibm_credentials = creds  # type: ignore[attr-defined]
        st = IbmState(state.world, creds)
        state._ibm_state = st  # type: ignore[attr-defined]
    return st
