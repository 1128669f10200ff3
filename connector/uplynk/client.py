"""Async client for the three Uplynk asset endpoints the connector reads.

Every call is signed (see :mod:`connector.uplynk.signing`) and sent as a POST form, which
the vendor accepts like GET and which keeps 1000-id ``asset/get`` calls out of the URL.
The form is signed again on every retry attempt, so ``_timestamp`` is always fresh, even
after a long backoff. Transport concerns (retries, 5xx/429, truncated bodies, metrics,
redaction) belong to the shared HTTP core; this module adds Uplynk's envelope (an integer
``error``, 0 = success, with a ``msg`` on failure) and checks the shape of every answer:
a response without what the call promises is an :class:`UplynkShapeError`, never an
empty result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from connector.config import UplynkSettings
from connector.http import AsyncHttpClient, Redactor, RequestMetrics, RetryPolicy
from connector.records import EPOCH_MAX_MS, EPOCH_MIN_MS
from connector.uplynk.listed_page import ListedPage, decode_list_page
from connector.uplynk.signing import sign_params

GET_MAX_IDS = 1000
LIST_MAX_LIMIT = 100
CHANGES = "/api2/asset/changes"
GET = "/api2/asset/get"
LIST = "/api2/asset/list"


class UplynkApiError(RuntimeError):
    """Uplynk answered with ``error != 0`` (bad signature, bad parameters, not found)."""

    def __init__(self, path: str, code: object, message: str):
        self.path = path
        self.code = code
        super().__init__(f"Uplynk {path} failed: error={code!r} msg={message!r}")


class UplynkShapeError(UplynkApiError):
    """Uplynk answered ``200`` with a body that lacks what the call promises (a
    ``changes`` list, an integer ``end``, an ``assets`` list...). Not retried here."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.code = None
        self.problem = problem
        RuntimeError.__init__(self, f"Uplynk {path}: response has the wrong shape: {problem}")


@dataclass(frozen=True)
class Change:
    """One feed entry. ``action`` is the vendor's word: ``update``, ``delete``, or any
    other (``create``...), which means "fetch the current state" like an update."""

    ts_ms: int
    action: str
    asset_id: str

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.ts_ms, self.action, self.asset_id)

    @property
    def is_delete(self) -> bool:
        return self.action == "delete"


@dataclass
class ChangesPage:
    """One response of ``/api2/asset/changes``.

    ``assets`` holds only states filed under their own ``id``. ``malformed`` holds change
    entries that are not ``[ts_ms, action, id]`` with a plausible ms epoch, kept for the
    rejects table (:func:`change_problem` gives each one's reason). ``misfiled`` holds
    ``(key, state, reason)`` for the ``assets`` entries whose key disagrees with the
    state's own ``id`` (or that have no id): never stored under the key; the walk fetches
    that id with ``asset/get`` instead.
    """

    start: int
    end: int
    changes: list[Change]
    assets: dict[str, Any]
    malformed: list[Any] = field(default_factory=list)
    misfiled: list[tuple[str, Any, str]] = field(default_factory=list)


def change_problem(entry: Any) -> str | None:
    """Why a ``changes`` entry is unusable, or None when it is a valid change."""
    if not isinstance(entry, list | tuple) or len(entry) != 3:
        return "change is not a [ts_ms, action, asset_id] triple"
    ts, action, asset_id = entry
    if type(ts) is not int:
        return f"change timestamp is not an integer epoch in ms: {ts!r}"
    if not EPOCH_MIN_MS <= ts < EPOCH_MAX_MS:
        return f"change timestamp {ts!r} is not a plausible epoch in ms (2000..2100)"
    if not isinstance(action, str) or not action:
        return f"change action is not a non-empty string: {action!r}"
    if not isinstance(asset_id, str) or not asset_id:
        return f"change asset id is not a non-empty string: {asset_id!r}"
    return None


def parse_changes(body: dict[str, Any], start_ms: int) -> ChangesPage:
    """A ``changes`` body (envelope already checked) as a :class:`ChangesPage`."""
    entries = body.get("changes")
    if not isinstance(entries, list):
        got = "missing" if entries is None else type(entries).__name__
        raise UplynkShapeError(CHANGES, f"'changes' is not a list ({got})")
    end = body.get("end")
    if type(end) is not int:
        raise UplynkShapeError(CHANGES, f"'end' is not an integer: {end!r}")
    start = body.get("start", start_ms)
    if type(start) is not int:
        raise UplynkShapeError(CHANGES, f"'start' is not an integer: {start!r}")
    assets = body.get("assets")
    if assets is None:
        assets = {}  # every state is then fetched with asset/get
    if not isinstance(assets, dict):
        raise UplynkShapeError(CHANGES, f"'assets' is not an object ({type(assets).__name__})")
    page = ChangesPage(start, end, [], {})
    for entry in entries:
        if change_problem(entry) is None:
            page.changes.append(Change(entry[0], entry[1], entry[2]))
        else:
            page.malformed.append(entry)
    for key, state in assets.items():
        own = state.get("id") if isinstance(state, dict) else None
        if own == key:
            page.assets[key] = state
        else:
            reason = f"asset state filed under {key!r} has id {own!r}; fetched by id instead"
            page.misfiled.append((key, state, reason))
    return page


@dataclass
class GetStats:
    """What ``asset/get`` cost beyond one call per 1000 ids, for the run report."""

    batch_errors: int = 0  # asset/get calls the vendor answered with an error
    extra_calls: int = 0  # calls made to narrow failed batches down (bisection + probes)
    absent: int = 0  # ids whose single-id call still failed: treated as absent


class UplynkClient:
    """Signed access to ``/api2/asset/{changes,get,list}``.

    ``clock`` (Unix seconds) stamps ``_timestamp``; ``transport`` replaces the network
    (tests). ``get_stats`` counts the extra work of failed ``asset/get`` batches.

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
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.metrics = metrics if metrics is not None else RequestMetrics()
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(settings.api_key)
        self.concurrency = concurrency
        self.get_stats = GetStats()
        self._clock = clock
        self._http = AsyncHttpClient(
            settings.base_url.rstrip("/"),
            vendor="uplynk",
            timeout=timeout,
            retry=retry,
            redactor=self.redactor,
            metrics=self.metrics,
            max_connections=max(concurrency, 4),
            # no httpx.Auth here: the fast path is aiohttp itself (connector.http.direct)
            direct=fast_transport and transport is None,
            transport=transport,
        )
        self._gate = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> UplynkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _signed(self, params: dict[str, Any]) -> dict[str, str]:
        s = self.settings
        return sign_params(params, owner=s.owner, api_key=s.api_key, timestamp=int(self._clock()))

    async def call(
        self, path: str, parse: Callable[[bytes], Any] = orjson.loads, **params: Any
    ) -> Any:
        """Sign and POST ``params`` to ``path`` (signed afresh on every attempt); return
        the body. UplynkApiError on ``error != 0``, UplynkShapeError without an envelope.
        A :class:`ListedPage` from ``parse`` was a success envelope."""
        async with self._gate:
            response = await self._http.request(
                "POST", path, data=lambda: self._signed(params), parse=parse
            )
        body = response.data
        if isinstance(body, ListedPage):
            return body
        if not isinstance(body, dict):
            raise UplynkShapeError(path, f"expected a JSON object, got {type(body).__name__}")
        code = body.get("error")
        if type(code) is not int:
            raise UplynkShapeError(path, f"'error' is not an integer: {code!r}")
        if code != 0:
            raise UplynkApiError(path, code, self.redactor.redact(str(body.get("msg", ""))))
        return body

    async def changes(self, start_ms: int) -> ChangesPage:
        """One page of the change feed from ``start_ms`` (inclusive)."""
        body = await self.call(CHANGES, start=int(start_ms))
        return parse_changes(body, int(start_ms))

    async def get_assets(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Current state of ``ids``, 1000 per call; deleted and unknown ids are absent.

        A batch the vendor answers with an error (one unknown id may fail them all) is
        split in halves until each failing id stands alone; a lone id that fails is
        absent. If no call of the narrowing succeeds, one ``asset/list`` probe tells an
        account-wide failure (bad key, clock skew: raised) from ids the vendor refuses.
        Counted in :attr:`get_stats`.
        """
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i : i + GET_MAX_IDS] for i in range(0, len(unique), GET_MAX_IDS)]
        results = await asyncio.gather(*(self._get_batch(c) for c in chunks))
        return [asset for chunk in results for asset in chunk]

    async def _get_once(self, chunk: list[str]) -> list[Any]:
        body = await self.call(GET, ids=chunk)
        if "assets" in body:
            assets = body["assets"]
            if not isinstance(assets, list):
                raise UplynkShapeError(GET, f"'assets' is not a list ({type(assets).__name__})")
            return assets
        if "asset" in body:
            return [] if body["asset"] is None else [body["asset"]]
        raise UplynkShapeError(GET, "neither 'assets' nor 'asset' in the response")

    async def _get_batch(self, chunk: list[str]) -> list[Any]:
        try:
            return await self._get_once(chunk)
        except UplynkShapeError:
            raise
        except UplynkApiError as first_error:
            self.get_stats.batch_errors += 1
            narrowing = _Narrowing()
            found = await self._bisect(chunk, narrowing)
            if not narrowing.succeeded and not await self._account_works():
                raise first_error from None
            self.get_stats.absent += narrowing.absent
            return found

    async def _bisect(self, chunk: list[str], narrowing: _Narrowing) -> list[Any]:
        """States of ``chunk``, whose batch call failed: recurse on its two halves."""
        if len(chunk) == 1:
            narrowing.absent += 1
            return []
        halves = (chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :])

        async def half(part: list[str]) -> list[Any]:
            self.get_stats.extra_calls += 1
            try:
                found = await self._get_once(part)
            except UplynkShapeError:
                raise
            except UplynkApiError:
                return await self._bisect(part, narrowing)
            narrowing.succeeded = True
            return found

        left, right = await asyncio.gather(half(halves[0]), half(halves[1]))
        return left + right

    async def _account_works(self) -> bool:
        """One cheap call that needs no asset id: False if the vendor refuses it too."""
        self.get_stats.extra_calls += 1
        try:
            await self.call(LIST, skip=0, limit=1, ignore_shared_libraries=True)
        except UplynkShapeError:
            raise
        except UplynkApiError:
            return False
        return True

    async def list_page(
        self, skip: int, limit: int = LIST_MAX_LIMIT, order: str = "created"
    ) -> ListedPage:
        """One page of ``/api2/asset/list`` (own library only, shared libraries ignored),
        decoded into rows and rejects (:mod:`connector.uplynk.listed_page`)."""
        body = await self.call(
            LIST,
            parse=decode_list_page,
            skip=int(skip),
            limit=int(limit),
            order=order,
            ignore_shared_libraries=True,
        )
        if isinstance(body, ListedPage):
            return body
        assets = body.get("assets")
        if not isinstance(assets, list):
            got = "missing" if assets is None else type(assets).__name__
            raise UplynkShapeError(LIST, f"'assets' is not a list ({got})")
        return ListedPage.from_records(assets)


@dataclass
class _Narrowing:
    """State of one failed batch's bisection."""

    succeeded: bool = False  # some call of the narrowing got an answer
    absent: int = 0
