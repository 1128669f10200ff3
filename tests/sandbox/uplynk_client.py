"""A tiny signed Uplynk client for sandbox tests (the real one lives in connector/uplynk)."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.uplynk import sign


class Uplynk:
    def __init__(self, env: dict[str, str], timeout: float = 10.0) -> None:
        self.owner = env["UPLYNK_OWNER"]
        self.key = env["UPLYNK_API_KEY"]
        self.http = httpx.Client(base_url=env["UPLYNK_BASE_URL"], timeout=timeout)

    def raw(
        self, path: str, params: dict[str, Any], method: str = "GET", **sign_kw: Any
    ) -> httpx.Response:
        signed = sign(
            params,
            sign_kw.get("owner", self.owner),
            sign_kw.get("key", self.key),
            timestamp=sign_kw.get("timestamp"),
        )
        if method == "GET":
            return self.http.get(path, params=signed)
        return self.http.post(path, data=signed)

    def call(self, path: str, method: str = "GET", **params: Any) -> dict[str, Any]:
        r = self.raw(path, params, method)
        assert r.status_code == 200, r.text
        return r.json()

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        d = self.call(path, **params)
        assert d["error"] == 0, d
        return d

    def close(self) -> None:
        self.http.close()
