"""Async client for the three Uplynk asset endpoints the connector reads.

Every call is signed (see :mod:`connector.uplynk.signing`) and sent as a POST form, which
the vendor accepts like GET and which keeps 1000-id ``asset/get`` calls out of the URL.
Transport concerns (retries, 5xx/429, truncated bodies, metrics, redaction) belong to the
shared HTTP core; this module adds Uplynk's envelope: an integer ``error`` (0 = success)
with a ``msg`` on failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.config import UplynkSettings
from connector.http import AsyncHttpClient, Redactor, RequestMetrics, RetryPolicy
from connector.uplynk.signing import sign_params

GET_MAX_IDS = 1000
LIST_MAX_LIMIT = 100


class UplynkApiError(RuntimeError):
    """Uplynk answered with ``error != 0`` (bad signature, bad parameters, not found)."""

    def __init__(self, path: str, code: object, message: str):
        self.path = path
        self.code = code
        super().__init__(f"Uplynk {path} failed: error={code!r} msg={message!r}")


@dataclass(frozen=True)
class Change:
    ts_ms: int
    action: str
    asset_id: str

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.ts_ms, self.action, self.asset_id)


@dataclass
class ChangesPage:
    """One response of ``/api2/asset/changes``; ``malformed`` holds change entries that are
    not ``[int ts, "update"|"delete", str id]``, kept for the rejects table."""

    start: int
    end: int
    changes: list[Change]
    assets: dict[str, Any]
    malformed: list[Any] = field(default_factory=list)


class UplynkClient:
    """Signed access to ``/api2/asset/{changes,get,list}``.

    >>> async with UplynkClient(UplynkSettings.from_env()) as client:  # doctest: +SKIP
    ...     page = await client.changes(start_ms=0)
    """

    def __init__(
        self,
        settings: UplynkSettings,
        *,
        metrics: RequestMetrics | None = None,
        redactor: Redactor | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        concurrency: int = 8,
        fast_transport: bool = False,
    ):
        self.settings = settings
        self.metrics = metrics if metrics is not None else RequestMetrics()
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(settings.api_key)
        self.concurrency = concurrency
        self._http = AsyncHttpClient(
            settings.base_url.rstrip("/"),
            vendor="uplynk",
            timeout=timeout,
            retry=retry,
            redactor=self.redactor,
            metrics=self.metrics,
            max_connections=max(concurrency, 4),
            fast_transport=fast_transport,
        )
        self._gate = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> UplynkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, path: str, **params: Any) -> dict[str, Any]:
        """Sign and POST ``params`` to ``path``; return the body, raising on ``error != 0``."""
        async with self._gate:
            form = sign_params(params, owner=self.settings.owner, api_key=self.settings.api_key)
            response = await self._http.request("POST", path, data=form)
        body = response.data
        if not isinstance(body, dict):
            raise UplynkApiError(path, None, f"expected a JSON object, got {type(body).__name__}")
        code = body.get("error")
        if code != 0:
            raise UplynkApiError(path, code, self.redactor.redact(str(body.get("msg", ""))))
        return body

    async def changes(self, start_ms: int) -> ChangesPage:
        """One page of the change feed from ``start_ms`` (inclusive)."""
        body = await self.call("/api2/asset/changes", start=int(start_ms))
        changes: list[Change] = []
        malformed: list[Any] = []
        for entry in body.get("changes") or []:
            if (
                isinstance(entry, list | tuple)
                and len(entry) == 3
                and isinstance(entry[0], int)
                and not isinstance(entry[0], bool)
                and entry[1] in ("update", "delete")
                and isinstance(entry[2], str)
                and entry[2]
            ):
                changes.append(Change(entry[0], entry[1], entry[2]))
            else:
                malformed.append(entry)
        end = body.get("end")
        if not isinstance(end, int) or isinstance(end, bool):
            raise UplynkApiError("/api2/asset/changes", 0, f"response has no integer end: {end!r}")
        assets = body.get("assets") or {}
        if not isinstance(assets, dict):
            raise UplynkApiError("/api2/asset/changes", 0, "response 'assets' is not an object")
        return ChangesPage(int(body.get("start", start_ms)), end, changes, assets, malformed)

    async def get_assets(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Current state of ``ids`` (deleted and unknown ids are absent), 1000 per call."""
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i : i + GET_MAX_IDS] for i in range(0, len(unique), GET_MAX_IDS)]

        async def one(chunk: list[str]) -> list[dict[str, Any]]:
            body = await self.call("/api2/asset/get", ids=chunk)
            if "assets" in body:
                return list(body["assets"] or [])
            return [body["asset"]] if body.get("asset") else []

        results = await asyncio.gather(*(one(c) for c in chunks))
        return [asset for chunk in results for asset in chunk]

    async def list_page(
        self, skip: int, limit: int = LIST_MAX_LIMIT, order: str = "created"
    ) -> list[Any]:
        """One page of ``/api2/asset/list`` (own library only, shared libraries ignored)."""
        body = await self.call(
            "/api2/asset/list",
            skip=int(skip),
            limit=int(limit),
            order=order,
            ignore_shared_libraries=True,
        )
        return list(body.get("assets") or [])
