"""IRIS.TV credentials and endpoint as a Dagster resource (IRIS_* variables)."""

from __future__ import annotations

import dagster as dg

from assets_defs.resources import env_if_set
from connector.config import IRIS_DEFAULT_BASE_URL, IrisSettings, MissingConfigError


class IrisResource(dg.ConfigurableResource):
    """IRIS.TV: IRIS_CLIENT_ID, IRIS_CLIENT_SECRET, IRIS_CLIENT_TOKEN, IRIS_PLATFORM,
    IRIS_BASE_URL (default https://api.iris.tv)."""

    base_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    client_token: str | None = None
    platform: str | None = None

    def settings(self) -> IrisSettings:
        values = (
            ("IRIS_CLIENT_ID", self.client_id),
            ("IRIS_CLIENT_SECRET", self.client_secret),
            ("IRIS_CLIENT_TOKEN", self.client_token),
            ("IRIS_PLATFORM", self.platform),
        )
        missing = [name for name, value in values if not (value or "").strip()]
        if missing:
            raise MissingConfigError("iris", missing)
        return IrisSettings(
            base_url=(self.base_url or IRIS_DEFAULT_BASE_URL).rstrip("/"),
            client_id=self.client_id,  # type: ignore[arg-type]
            client_secret=self.client_secret,  # type: ignore[arg-type]
            client_token=self.client_token,  # type: ignore[arg-type]
            platform=self.platform,  # type: ignore[arg-type]
        )

    @classmethod
    def from_env(cls) -> IrisResource:
        return cls(
            base_url=env_if_set("IRIS_BASE_URL"),
            client_id=env_if_set("IRIS_CLIENT_ID"),
            client_secret=env_if_set("IRIS_CLIENT_SECRET"),
            client_token=env_if_set("IRIS_CLIENT_TOKEN"),
            platform=env_if_set("IRIS_PLATFORM"),
        )
