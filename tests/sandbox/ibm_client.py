"""A plain IBM Video Streaming client for sandbox tests (the real one lives in connector/ibm)."""

from __future__ import annotations

from typing import Any

import httpx


class Ibm:
    def __init__(self, env: dict[str, str], **client_kw: Any) -> None:
        self.env = env
        self.client_id = env["IBM_VIDEO_CLIENT_ID"]
        self.api = env["IBM_VIDEO_API_URL"]
        self.channels = env["IBM_VIDEO_CHANNEL_IDS"].split(",")
        self.http = httpx.Client(timeout=10.0, **client_kw)
        self._token: str | None = None

    def token_response(
        self, data: dict[str, str] | None = None, auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        """POST the token endpoint; ``data`` replaces the whole form when given."""
        form = {"grant_type": "client_credentials", "client_id": self.client_id}
        return self.http.post(
            self.env["IBM_VIDEO_TOKEN_URL"],
            data=form if data is None else data,
            auth=auth or (self.client_id, self.env["IBM_VIDEO_CLIENT_SECRET"]),
        )

    def login(self, token: str | None = None) -> str:
        """Use ``token``, or fetch one unless the client holds one; returns it."""
        if token is not None:
            self._token = token
        if self._token is None:
            r = self.token_response()
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        return self._token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login()}"}

    def listing_url(self, channel: str) -> str:
        return f"{self.api}/channels/{channel}/videos.json"

    def page(self, channel: str, page: int = 1, pagesize: int = 50) -> httpx.Response:
        return self.http.get(
            self.listing_url(channel),
            params={"page": page, "pagesize": pagesize},
            headers=self.headers,
        )

    def expiration(
        self, video_id: str, method: str = "GET", data: dict[str, str] | None = None
    ) -> httpx.Response:
        url = f"{self.api}/videos/{video_id}/expiration.json"
        return self.http.request(method, url, headers=self.headers, data=data)

    def naive_listing(
        self, channel: str, pagesize: int = 50, max_pages: int = 1000
    ) -> tuple[list[str], list[dict]]:
        """Follow ``paging.next`` from page 1, concatenating ids as offset paging gives them
        (no deduplication): (ids, the raw page bodies)."""
        r = self.page(channel, 1, pagesize)
        ids: list[str] = []
        bodies: list[dict] = []
        for _ in range(max_pages):
            assert r.status_code == 200, r.text
            body = r.json()
            bodies.append(body)
            ids += [v["id"] for v in body["videos"]]
            nxt = body["paging"].get("next")
            if not nxt:
                return ids, bodies
            r = self.http.get(nxt, headers=self.headers)
        raise AssertionError(f"listing of {channel} did not end in {max_pages} pages")

    def close(self) -> None:
        self.http.close()
