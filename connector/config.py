"""Configuration from environment variables: the connector's public contract.

Every vendor is configured by its own variables (see README, "Configuration"). Nothing
falls back to fake data: a missing credential is an error that names every missing
variable at once, so a user fixes their environment in one go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_LAKE = "data/lake"
UPLYNK_DEFAULT_BASE_URL = "https://services.uplynk.com"
IBM_DEFAULT_API_URL = "https://api.video.ibm.com"
IBM_DEFAULT_TOKEN_URL = "https://video.ibm.com/oauth2/token"
IBM_RATELIMIT_SCOPES = ("host", "endpoint")


# Requests in flight to one vendor, per source. Only IBM documents a limit (a request rate,
# paced by the HTTP core from its X-RateLimit-* headers); the others document none, so the
# connector's default is a modest number, set here per source.
CONCURRENCY_VARS = {
    "uplynk": "UPLYNK_CONCURRENCY",
    "ibm": "IBM_VIDEO_CONCURRENCY",
    "valt": "VALT_CONCURRENCY",
    "iris": "IRIS_CONCURRENCY",
}


def concurrency_from_env(source: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """Requests the ``source`` may keep in flight: its ``CONCURRENCY_VARS`` variable when set
    (an integer >= 1), else ``default``. A CLI ``--concurrency`` or Dagster config wins."""
    env = os.environ if env is None else env
    name = CONCURRENCY_VARS[source]
    raw = _read(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {raw!r}")
    return value


class MissingConfigError(RuntimeError):
    """Raised when required environment variables are unset; names all of them."""

    def __init__(self, source: str, missing: list[str]):
        self.source = source
        self.missing = missing
        names = ", ".join(missing)
        super().__init__(
            f"{source}: missing required environment variable(s): {names}. "
            "Set them (see README, 'Configuration'), or run `make demo`, which points "
            "every source at the local sandbox."
        )


def _read(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def require(source: str, names: list[str], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the named variables, or raise MissingConfigError naming every missing one."""
    env = os.environ if env is None else env
    values = {name: _read(env, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise MissingConfigError(source, missing)
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class UplynkSettings:
    base_url: str
    owner: str
    api_key: str

    def __repr__(self) -> str:  # never show the key
        return f"UplynkSettings(base_url={self.base_url!r}, owner={self.owner!r}, api_key='***')"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UplynkSettings:
        env = os.environ if env is None else env
        values = require("uplynk", ["UPLYNK_OWNER", "UPLYNK_API_KEY"], env)
        return cls(
            base_url=_read(env, "UPLYNK_BASE_URL") or UPLYNK_DEFAULT_BASE_URL,
            owner=values["UPLYNK_OWNER"],
            api_key=values["UPLYNK_API_KEY"],
        )


@dataclass(frozen=True)
class IbmSettings:
    """IBM Video Streaming settings. ``ratelimit_scope`` (``IBM_VIDEO_RATELIMIT_SCOPE``):
    ``host`` (default) paces every call to the API host with one budget, ``endpoint``
    gives listing, expiration and token calls a budget each (see ``IbmClient``)."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str
    channel_ids: tuple[str, ...]
    ratelimit_scope: str = "host"

    def __post_init__(self) -> None:
        if self.ratelimit_scope not in IBM_RATELIMIT_SCOPES:
            raise ValueError(
                f"IBM_VIDEO_RATELIMIT_SCOPE must be one of {', '.join(IBM_RATELIMIT_SCOPES)}; "
                f"got {self.ratelimit_scope!r}"
            )

    def __repr__(self) -> str:
        return (
            f"IbmSettings(api_url={self.api_url!r}, token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, client_secret='***', channel_ids={self.channel_ids!r}, "
            f"ratelimit_scope={self.ratelimit_scope!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IbmSettings:
        env = os.environ if env is None else env
        values = require(
            "ibm", ["IBM_VIDEO_CLIENT_ID", "IBM_VIDEO_CLIENT_SECRET", "IBM_VIDEO_CHANNEL_IDS"], env
        )
        channels = tuple(c.strip() for c in values["IBM_VIDEO_CHANNEL_IDS"].split(",") if c.strip())
        if not channels:
            raise MissingConfigError("ibm", ["IBM_VIDEO_CHANNEL_IDS"])
        return cls(
            api_url=_read(env, "IBM_VIDEO_API_URL") or IBM_DEFAULT_API_URL,
            token_url=_read(env, "IBM_VIDEO_TOKEN_URL") or IBM_DEFAULT_TOKEN_URL,
            client_id=values["IBM_VIDEO_CLIENT_ID"],
            client_secret=values["IBM_VIDEO_CLIENT_SECRET"],
            channel_ids=channels,
            ratelimit_scope=(_read(env, "IBM_VIDEO_RATELIMIT_SCOPE") or "host").lower(),
        )


@dataclass(frozen=True)
class ValtSettings:
    """VALT (IPIVS) settings. VALT is self-hosted, so the base URL is required too:
    ``VALT_BASE_URL`` (e.g. ``https://valt.example.com``, the API lives under
    ``/api/v3``), ``VALT_USERNAME`` and ``VALT_PASSWORD``."""

    base_url: str
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password
        return (
            f"ValtSettings(base_url={self.base_url!r}, username={self.username!r}, password='***')"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ValtSettings:
        env = os.environ if env is None else env
        values = require("valt", ["VALT_BASE_URL", "VALT_USERNAME", "VALT_PASSWORD"], env)
        return cls(
            base_url=values["VALT_BASE_URL"].rstrip("/"),
            username=values["VALT_USERNAME"],
            password=values["VALT_PASSWORD"],
        )


IRIS_DEFAULT_BASE_URL = "https://api.iris.tv"


@dataclass(frozen=True)
class IrisSettings:
    """IRIS.TV settings: ``IRIS_BASE_URL`` (default :data:`IRIS_DEFAULT_BASE_URL`),
    ``IRIS_CLIENT_ID`` and ``IRIS_CLIENT_SECRET`` (the OAuth token call),
    ``IRIS_CLIENT_TOKEN`` (sent with every call) and ``IRIS_PLATFORM`` (the publisher's
    name that Watch calls carry)."""

    base_url: str
    client_id: str
    client_secret: str
    client_token: str
    platform: str

    def __repr__(self) -> str:  # never show the secret or the client token
        return (
            f"IrisSettings(base_url={self.base_url!r}, client_id={self.client_id!r}, "
            f"client_secret='***', client_token='***', platform={self.platform!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IrisSettings:
        env = os.environ if env is None else env
        names = ["IRIS_CLIENT_ID", "IRIS_CLIENT_SECRET", "IRIS_CLIENT_TOKEN", "IRIS_PLATFORM"]
        values = require("iris", names, env)
        return cls(
            base_url=(_read(env, "IRIS_BASE_URL") or IRIS_DEFAULT_BASE_URL).rstrip("/"),
            client_id=values["IRIS_CLIENT_ID"],
            client_secret=values["IRIS_CLIENT_SECRET"],
            client_token=values["IRIS_CLIENT_TOKEN"],
            platform=values["IRIS_PLATFORM"],
        )
