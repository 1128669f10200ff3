"""Uplynk credentials and endpoint as a Dagster resource (UPLYNK_* variables)."""

from __future__ import annotations

import dagster as dg

from assets_defs.resources import env_if_set
from connector.config import UPLYNK_DEFAULT_BASE_URL, MissingConfigError, UplynkSettings


class UplynkResource(dg.ConfigurableResource):
    """Uplynk api2 account: UPLYNK_OWNER (32-hex user id), UPLYNK_API_KEY, UPLYNK_BASE_URL."""

    base_url: str | None = None
    owner: str | None = None
    api_key: str | None = None

    def settings(self) -> UplynkSettings:
        missing = [
            name
            for name, value in (("UPLYNK_OWNER", self.owner), ("UPLYNK_API_KEY", self.api_key))
            if not value
        ]
        if missing:
            raise MissingConfigError("uplynk", missing)
        return UplynkSettings(
            base_url=self.base_url or UPLYNK_DEFAULT_BASE_URL,
            owner=self.owner,  # type: ignore[arg-type]
            api_key=self.api_key,  # type: ignore[arg-type]
        )

    @classmethod
    def from_env(cls) -> UplynkResource:
        return cls(
            base_url=env_if_set("UPLYNK_BASE_URL"),
            owner=env_if_set("UPLYNK_OWNER"),
            api_key=env_if_set("UPLYNK_API_KEY"),
        )
