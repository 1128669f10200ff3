"""VALT's mutable state for one world: knobs, access tokens, the JWT key, counters, catalog.

Knobs (``POST /_control/valt/config``; every one optional; a reset restores the defaults):

    token_ttl_s          float > 0, real seconds an access token lives (default 3600)
    download_ttl_s       int >= 1, a download URL's JWT ``exp - iat`` (default 1800)
    id_style             "uuid" (VALT 6, default) | "int" (VALT 5); ids of the other style
                         stop resolving (URLs minted before the change included)
    list_cap             int >= 1, the most recordings one listing page holds; a larger
                         ``limit`` is clamped (default 100)
    download_shape       "top" (``{"url"}``) | "data" (``{"data": {"url"}}``) | "mixed"
                         (alternating, top first; default)
    video_bytes          int >= 1, a video's size before its per-video factor in [0.5, 1.5]
                         (default 262144)
    cdn_drop_after_bytes int >= 0 | null: the CDN closes the connection after sending that many
                         body bytes (default null: never)
    cdn_drop_times       int >= 1 | null: only the next N GETs are cut (null: every one)
    cdn_rate_bytes_s     float > 0 | null: the CDN paces each body at that rate (default null)
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import TYPE_CHECKING, Any

from .credentials import ValtCredentials, valt_credentials
from .tokens import TokenBook
from .valt_catalog import ValtCatalog
from .valt_cdn import VideoBytes
from .world import World
from .world.valt import ID_STYLES

if TYPE_CHECKING:
    from .app import SandboxState

ENDPOINTS = ("login", "records", "details", "download", "cdn")
SHAPES = ("top", "data", "mixed")
DEFAULTS: dict[str, Any] = {
    "token_ttl_s": 3600.0,
    "download_ttl_s": 1800,
    "id_style": "uuid",
    "list_cap": 100,
    "download_shape": "mixed",
    "video_bytes": 262_144,
    "cdn_drop_after_bytes": None,
    "cdn_drop_times": None,
    "cdn_rate_bytes_s": None,
}
COUNTERS = (
    "responses_401",
    "responses_403",
    "responses_404",
    "logins",
    "login_failures",
    "urls_minted",
    "cdn_bytes_served",
    "cdn_range_requests",
    "cdn_head_requests",
    "cdn_dropped",
)
_LOG_MAX = 10_000


def _int(v: Any, name: str, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}")
    return int(v)


def _positive(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a number > 0")
    return float(v)


def _check(name: str, v: Any) -> Any:
    """One knob's value, checked (see the module docstring)."""
    if name == "token_ttl_s":
        return _positive(v, name)
    if name in ("download_ttl_s", "list_cap", "video_bytes"):
        return _int(v, name, 1)
    if name == "id_style" and v in ID_STYLES:
        return v
    if name == "download_shape" and v in SHAPES:
        return v
    if name in ("id_style", "download_shape"):
        raise ValueError(f"{name}: one of {ID_STYLES if name == 'id_style' else SHAPES}")
    if v is None:
        return None
    if name == "cdn_drop_after_bytes":
        return _int(v, name, 0)
    if name == "cdn_drop_times":
        return _int(v, name, 1)
    return _positive(v, name)  # cdn_rate_bytes_s


class ValtState:
    """VALT's mutable state for one world (rebuilt when the world is reset)."""

    def __init__(self, world: World, creds: ValtCredentials) -> None:
        self.world = world
        self.creds = creds
        self.lock = threading.Lock()
        self.secret = secrets.token_bytes(32)  # the JWT key of this world's URLs
        self.catalog = ValtCatalog(world)
        self.cdn = VideoBytes(world.seed)
        self.token_ttl_s: float = DEFAULTS["token_ttl_s"]
        self.download_ttl_s: int = DEFAULTS["download_ttl_s"]
        self.list_cap: int = DEFAULTS["list_cap"]
        self.download_shape: str = DEFAULTS["download_shape"]
        self.video_bytes: int = DEFAULTS["video_bytes"]
        self.cdn_drop_after_bytes: int | None = None
        self.cdn_drop_times: int | None = None
        self.cdn_rate_bytes_s: float | None = None
        world.valt_id_style = DEFAULTS["id_style"]
        self.tokens = TokenBook(lambda: secrets.token_hex(16))
        self.url_log: list[str] = []  # JWTs minted (test ground truth; bounded)
        self.downloads_served = 0  # download answers so far (the "mixed" shape alternates)
        self.requests = dict.fromkeys(ENDPOINTS, 0)
        self.responses: dict[tuple[str, int], int] = {}
        self.counters = dict.fromkeys(COUNTERS, 0)

    # -- knobs -------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in DEFAULTS if k != "id_style"}
        revoke_after = self.tokens.revoke_after
        return {**out, "id_style": self.world.valt_id_style, "revoke_after": revoke_after}

    def configure(self, body: dict[str, Any]) -> None:
        """Apply knobs; nothing changes when one is unknown or invalid."""
        unknown = set(body) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown VALT knobs: {sorted(unknown)}; known: {sorted(DEFAULTS)}")
        values = {k: _check(k, v) for k, v in body.items()}
        for k, v in values.items():
            if k == "id_style":
                self.world.valt_id_style = v
            else:
                setattr(self, k, v)

    def take_drop_budget(self, length: int) -> int | None:
        """Body bytes the CDN may send before cutting a response of ``length`` bytes (None:
        no cut); spends one of ``cdn_drop_times``."""
        after = self.cdn_drop_after_bytes
        if after is None or after >= length:
            return None
        with self.lock:
            if self.cdn_drop_times is not None:
                self.cdn_drop_times -= 1
                if self.cdn_drop_times <= 0:
                    self.cdn_drop_after_bytes = self.cdn_drop_times = None
        return after

    # -- access tokens -----------------------------------------------------------------
    def issue(self) -> str:
        return self.tokens.issue(self.token_ttl_s)

    def token_ok(self, token: str) -> bool:
        """Is ``token`` live? Counts one API request towards ``revoke_after``."""
        return self.tokens.is_live(token)

    def log_url_token(self, jwt: str) -> None:
        if len(self.url_log) < _LOG_MAX:
            self.url_log.append(jwt)

    # -- counters ----------------------------------------------------------------------
    def count(self, endpoint: str, status: int) -> None:
        self.requests[endpoint] += 1
        k = (endpoint, status)
        self.responses[k] = self.responses.get(k, 0) + 1
        if status in (401, 403, 404):
            self.counters[f"responses_{status}"] += 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "responses": [
                {"endpoint": e, "status": s, "count": c}
                for (e, s), c in sorted(self.responses.items())
            ],
            **self.counters,
            "tokens_issued": self.tokens.issued,
            "tokens_revoked": self.tokens.revoked,
            "tokens_live": self.tokens.live(),
            "churn": dict(self.catalog.totals),
        }

    def reset_stats(self) -> None:
        self.requests = dict.fromkeys(ENDPOINTS, 0)
        self.responses.clear()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.tokens.reset_counts()


def valt_state(state: SandboxState) -> ValtState:
    """The VALT state of the sandbox's current world (built on first use after a reset)."""
    st = getattr(state, "_valt_state", None)
    if st is None or st.world is not state.world:
        creds = getattr(state, "valt_credentials", None)
        if creds is None:
            creds = valt_credentials()
            state.valt_credentials = creds  # type: ignore[attr-defined]
        st = ValtState(state.world, creds)
        state._valt_state = st  # type: ignore[attr-defined]
    return st
