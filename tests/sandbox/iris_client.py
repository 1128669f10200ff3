"""A plain IRIS.TV client for sandbox tests, and a strict reader of the vendor's JSONP style
(the real, tolerant parser lives in connector/iris; this one shares nothing with it)."""

from __future__ import annotations

import re
from typing import Any

import httpx

DATA = "/v2/context/data_partner/metadata/video_assets"
_KEY_LINE = re.compile(
    r"^'([a-z_]+)': (?:'((?:[^'\\]|\\.)*)'('?)|(true|false|null|-?\d+(?:\.\d+)?))(,?)$"
)


class Iris:
    def __init__(self, env: dict[str, str], **client_kw: Any) -> None:
        self.env = env
        self.base = env["IRIS_BASE_URL"]
        self.http = httpx.Client(timeout=10.0, **client_kw)
        self.token: str | None = None

    def token_response(self, **form: str) -> httpx.Response:
        data = {
            "grant_type": "none",
            "client_id": self.env["IRIS_CLIENT_ID"],
            "client_secret": self.env["IRIS_CLIENT_SECRET"],
            "scope": "iris_tv",
            **form,
        }
        return self.http.post(self.base + "/oauth/access_token", data=data)

    def login(self) -> str:
        r = self.token_response()
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        return self.token

    def auth(self) -> dict[str, str]:
        if self.token is None:
            self.login()
        assert self.token is not None
        return {"access_token": self.token, "client_token": self.env["IRIS_CLIENT_TOKEN"]}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(self.base + path, params={**self.auth(), **params})

    def watch(self, platform_id: str, number: int = 5, **params: Any) -> httpx.Response:
        q = {
            "platform_id": platform_id,
            "platform": self.env["IRIS_PLATFORM"],
            "number": number,
            "user_id": "tester",
            "recs_only": "true",
            **params,
        }
        return self.get("/watch", **q)

    def asset(self, iris_id: str) -> httpx.Response:
        return self.get(DATA, iris_id=iris_id)

    def refresh(self, iris_id: str) -> httpx.Response:
        return self.get(DATA + "/source_url", iris_id=iris_id)

    def close(self) -> None:
        self.http.close()


def read_jsonp(text: str) -> dict[str, Any]:
    """Read a Watch/Next answer, asserting the vendor samples' layout line by line: the
    callback line, one key per line, single quotes, ``},`` between items, ``],`` after the
    list, then the experience (and ``'sc':false`` on Watch). Returns the values plus, per
    item, ``_doubled`` (the key whose value carried the doubled quote) and ``_trailing``
    (the item's last line ended with a comma)."""
    lines = text.split("\n")
    m = re.match(r"^([A-Za-z_$][\w$.]*)\(\{$", lines[0])
    assert m, lines[0]
    assert lines[-1] == "})", lines[-1]
    out: dict[str, Any] = {"callback": m.group(1), "next": []}
    k = 1
    assert lines[k] == "'success': true,", lines[k]
    k += 1
    out["default_recs"] = lines[k] == "'default_recs': true,"
    k += out["default_recs"]
    assert lines[k] == "'next': [", lines[k]
    k += 1
    while lines[k] == "{":
        item: dict[str, Any] = {"_doubled": None, "_trailing": False}
        k += 1
        while not lines[k].startswith("}"):
            km = _KEY_LINE.match(lines[k])
            assert km, lines[k]
            name, s, doubled, bare, comma = km.groups()
            item[name] = _bare(bare) if bare is not None else s.replace("\\'", "'")
            if doubled:
                item["_doubled"] = name
            item["_trailing"] = bool(comma)
            k += 1
        out["next"].append(item)
        closing = lines[k]
        k += 1
        assert closing in ("}", "},"), closing
        assert (closing == "},") == (lines[k] == "{"), (closing, lines[k])
    assert lines[k] == "],", lines[k]
    em = re.match(r"^'experience': '([0-9a-z]{24})'(,?)$", lines[k + 1])
    assert em, lines[k + 1]
    out["experience"] = em.group(1)
    rest = lines[k + 2 : -1]
    out["sc"] = rest == ["'sc':false"]
    assert (rest == ["'sc':false"] and em.group(2) == ",") or (rest == [] and not em.group(2))
    return out


def _bare(v: str) -> Any:
    if v in ("true", "false"):
        return v == "true"
    if v == "null":
        return None
    return float(v) if "." in v else int(v)
