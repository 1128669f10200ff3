"""IBM Video Streaming credentials and endpoints as a Dagster resource (IBM_VIDEO_* variables)."""

from __future__ import annotations

import dagster as dg

from assets_defs.resources import env_if_set
from connector.config import (
    IBM_DEFAULT_API_URL,
    IBM_DEFAULT_TOKEN_URL,
    IbmSettings,
    MissingConfigError,
)


class IbmResource(dg.ConfigurableResource):
    """IBM client credentials (IBM_VIDEO_CLIENT_ID, IBM_VIDEO_CLIENT_SECRET), the channels to
    sync (IBM_VIDEO_CHANNEL_IDS, comma-separated), the endpoints (IBM_VIDEO_API_URL,
    IBM_VIDEO_TOKEN_URL) and the rate-limit scope (IBM_VIDEO_RATELIMIT_SCOPE)."""

    api_url: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    channel_ids: str | None = None
    ratelimit_scope: str | None = None  # IBM_VIDEO_RATELIMIT_SCOPE: host (default) | endpoint

    def settings(self) -> IbmSettings:
        values = (
            ("IBM_VIDEO_CLIENT_ID", self.client_id),
            ("IBM_VIDEO_CLIENT_SECRET", self.client_secret),
            ("IBM_VIDEO_CHANNEL_IDS", self.channel_ids),
        )
        missing = [name for name, value in values if not (value or "").strip()]
        channels = tuple(c.strip() for c in (self.channel_ids or "").split(",") if c.strip())
        if not channels and "IBM_VIDEO_CHANNEL_IDS" not in missing:
            missing.append("IBM_VIDEO_CHANNEL_IDS")
        if missing:
            raise MissingConfigError("ibm", missing)
        return IbmSettings(
            api_url=self.api_url or IBM_DEFAULT_API_URL,
            token_url=self.token_url or IBM_DEFAULT_TOKEN_URL,
            client_id=self.client_id,  # type: ignore[arg-type]
            client_secret=self.client_secret,  # type: ignore[arg-type]
            channel_ids=channels,
            ratelimit_scope=(self.ratelimit_scope or "host").strip().lower(),
        )

    @classmethod
    def from_env(cls) -> IbmResource:
        return cls(
            api_url=env_if_set("IBM_VIDEO_API_URL"),
            token_url=env_if_set("IBM_VIDEO_TOKEN_URL"),
            client_id=env_if_set("IBM_VIDEO_CLIENT_ID"),
            client_secret=env_if_set("IBM_VIDEO_CLIENT_SECRET"),
            channel_ids=env_if_set("IBM_VIDEO_CHANNEL_IDS"),
            ratelimit_scope=env_if_set("IBM_VIDEO_RATELIMIT_SCOPE"),
        )
