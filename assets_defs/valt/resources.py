"""VALT credentials and endpoint as a Dagster resource (VALT_* variables)."""

from __future__ import annotations

import dagster as dg

from assets_defs.resources import env_if_set
from connector.config import MissingConfigError, ValtSettings


class ValtResource(dg.ConfigurableResource):
    """VALT (self-hosted): VALT_BASE_URL, VALT_USERNAME, VALT_PASSWORD."""

    base_url: str | None = None
    username: str | None = None
    password: str | None = None

    def settings(self) -> ValtSettings:
        values = (
            ("VALT_BASE_URL", self.base_url),
            ("VALT_USERNAME", self.username),
            ("VALT_PASSWORD", self.password),
        )
        missing = [name for name, value in values if not (value or "").strip()]
        if missing:
            raise MissingConfigError("valt", missing)
        return ValtSettings(
            base_url=self.base_url.rstrip("/"),  # type: ignore[union-attr]
            username=self.username,  # type: ignore[arg-type]
            password=self.password,  # type: ignore[arg-type]
        )

    @classmethod
    def from_env(cls) -> ValtResource:
        return cls(
            base_url=env_if_set("VALT_BASE_URL"),
            username=env_if_set("VALT_USERNAME"),
            password=env_if_set("VALT_PASSWORD"),
        )
