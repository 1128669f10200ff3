"""A plain VALT API v3 client for sandbox tests (the real one lives in connector/valt)."""

from __future__ import annotations

import base64
import calendar
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson

NOT_FOUND = {
    "type": "https://tools.ietf.org/html/rfc2616#section-10",
    "title": "An error occurred",
    "status": 404,
    "detail": "Not Found",
}
NO_KEY = {"error": {"code": 401, "message": "No API key provided"}}
BAD_CREDENTIALS = {"error": {"code": 401, "message": "Bad credentials."}}
URL_EXPIRED = {"error": {"code": 403, "message": "URL expired"}}


class Valt:
    def __init__(self, env: dict[str, str]) -> None:
        self.base = env["VALT_BASE_URL"] + "/api/v3"
        self.username = env["VALT_USERNAME"]
        self.password = env["VALT_PASSWORD"]
        self.http = httpx.Client(timeout=30.0)
        self.token: str | None = None

    def login_response(self, body: Any = None, content: bytes | None = None) -> httpx.Response:
        if content is None:
            body = {"username": self.username, "password": self.password} if body is None else body
            content = orjson.dumps(body)
        return self.http.post(f"{self.base}/login", content=content)

    def login(self) -> str:
        r = self.login_response()
        assert r.status_code == 200, r.text
        self.token = r.json()["data"]["access_token"]
        return self.token

    def _params(self, token: str | None) -> dict[str, str]:
        token = token if token is not None else (self.token or self.login())
        return {"access_token": token} if token else {}

    def records(
        self, body: Any = None, token: str | None = None, content: bytes | None = None
    ) -> httpx.Response:
        if content is None and body is not None:
            content = orjson.dumps(body)
        return self.http.post(f"{self.base}/records", params=self._params(token), content=content)

    def page(self, **body: Any) -> list[dict[str, Any]]:
        r = self.records(body)
        assert r.status_code == 200, r.text
        return r.json()["data"]["records"]

    def walk(self, limit: int = 100, **body: Any) -> list[dict[str, Any]]:
        """Every record of a listing: page until a page is shorter than ``limit``."""
        out: list[dict[str, Any]] = []
        for _ in range(10_000):
            page = self.page(offset=len(out), limit=limit, **body)
            out += page
            if len(page) < limit:
                return out
        raise AssertionError("the listing did not end")

    def details(self, record_id: Any, token: str | None = None) -> httpx.Response:
        return self.http.get(f"{self.base}/records/{record_id}", params=self._params(token))

    def download(self, record_id: Any, video_id: str, token: str | None = None) -> httpx.Response:
        url = f"{self.base}/records/download/{record_id}/{video_id}"
        return self.http.get(url, params=self._params(token))

    def download_url(self, record_id: Any, video_id: str) -> str:
        r = self.download(record_id, video_id)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["url"] if "url" in body else body["data"]["url"]

    def close(self) -> None:
        self.http.close()


def jwt_parts(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of the access_token JWT of a download URL, unverified."""
    token = parse_qs(urlsplit(url).query)["access_token"][0]
    head, payload, _ = token.split(".")

    def dec(x: str) -> dict[str, Any]:
        return orjson.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))

    return dec(head), dec(payload)


def utc_date(epoch_s: int) -> str:
    """MM-DD-YYYY of a Unix time, as VALT's date filters take it."""
    return time.strftime("%m-%d-%Y", time.gmtime(epoch_s))


def midnight(date: str) -> int:
    month, day, year = (int(x) for x in date.split("-"))
    return calendar.timegm((year, month, day, 0, 0, 0))


def listed_view(row: dict[str, Any]) -> dict[str, Any]:
    """The fields a listing carries, taken from a details / expected row."""
    keys = ("id", "name", "created", "author", "type", "duration", "room", "cameras", "sharing")
    return {k: row[k] for k in keys}


def served_details(row: dict[str, Any]) -> dict[str, Any]:
    """An expected row without its ground-truth extras: the details ``data`` as served."""
    out = {k: v for k, v in row.items() if k != "deleted"}
    out["videos"] = [
        {k: v for k, v in video.items() if k not in ("bytes", "sha256")} for video in row["videos"]
    ]
    return out
