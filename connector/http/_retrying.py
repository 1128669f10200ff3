"""``RetryingBase``: what ``AsyncHttpClient`` needs around its attempts: error
construction (always through the redactor), single-flight re-authentication, the DEBUG
line per attempt, and tenacity's hooks (stop, wait, sleep, the WARNING per retry, giving
up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from ._state import RequestState, Retry
from .errors import AuthenticationError, HttpError, RetryExhaustedError, TransportFailure
from .metrics import RequestMetrics
from .redact import Redactor
from .retry import RetryPolicy

logger = logging.getLogger("connector.http")


class SharedReauth:
    """Single-flight re-authentication for every client that shares one credential (IBM's
    listing and expiration clients): a 401 seen by any of them renews the token once, and
    a request sent with a token older than the current one just retries with it."""

    def __init__(self, renew: Callable[[], Awaitable[None]]) -> None:
        self.renew = renew
        self.lock = asyncio.Lock()
        self.generation = 0  # tokens renewed so far; a request remembers the one it sent


class RetryingBase:
    """Base of ``AsyncHttpClient``; the attributes below are set by its ``__init__``."""

    vendor: str
    retry: RetryPolicy
    redactor: Redactor
    metrics: RequestMetrics
    _sleep: Callable[[float], Awaitable[None]]
    _clock: Callable[[], float]
    _client: httpx.AsyncClient
    _reauth: SharedReauth | None

    def _retrying(self) -> AsyncRetrying:
        """tenacity's loop for one logical request: retries ``Retry`` only."""
        return AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(Retry),
            sleep=self._sleep_counted,
            before_sleep=self._before_sleep,
            retry_error_callback=self._give_up,
        )

    def _err(
        self,
        cls: type[HttpError],
        msg: str,
        ctx: RequestState,
        url: str,
        status: int | None = None,
        **kw: Any,
    ) -> HttpError:
        return cls(
            msg,
            vendor=self.vendor,
            method=ctx.method,
            url=url,
            status=status,
            redactor=self.redactor,
            **kw,
        )

    def _full_url(self, ctx: RequestState) -> str:
        if ctx.last_url:
            return ctx.last_url
        try:
            return str(self._client._merge_url(ctx.url))
        except Exception:
            return str(ctx.url)

    def _transport_error(self, exc: BaseException, ctx: RequestState, url: str) -> HttpError:
        url = url or self._full_url(ctx)
        detail = str(exc) or "no detail"
        return self._err(
            TransportFailure,
            f"{self.vendor} {ctx.method} {url}: {type(exc).__name__}: {detail}",
            ctx,
            url,
        )

    async def _renew(self, gen: int, ctx: RequestState, url: str) -> None:
        """Single-flight re-authentication: skip if another request (of this client or of
        one sharing its credential) already did it after this attempt was sent."""
        shared = self._reauth
        assert shared is not None
        async with shared.lock:
            if shared.generation != gen:
                return
            failure: HttpError | None = None
            try:
                await shared.renew()
            except HttpError:
                raise
            except Exception as exc:
                failure = self._err(
                    AuthenticationError,
                    f"{self.vendor} re-authentication failed: {type(exc).__name__}: {exc}",
                    ctx,
                    url,
                    401,
                )
            if failure is not None:
                raise failure
            shared.generation += 1
            self.metrics.reauths += 1

    def _log_debug(self, method: str, url: str, status: object, nbytes: int, dt: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> %s %dB %.1fms",
                self.vendor,
                method,
                self.redactor.url(url),
                status,
                nbytes,
                dt * 1000,
            )

    # -- tenacity hooks --------------------------------------------------------------
    @staticmethod
    def _ctx(rs: RetryCallState) -> RequestState:
        return rs.args[0]

    def _wait(self, rs: RetryCallState) -> float:
        exc = rs.outcome.exception() if rs.outcome else None
        if not isinstance(exc, Retry):
            return 0.0
        if exc.immediate:
            return 0.0
        ctx = self._ctx(rs)
        return self.retry.compute_wait(
            rs.attempt_number,
            headers=exc.headers,
            status=exc.error.status,
            elapsed_s=self._clock() - ctx.start,
        )

    def _stop(self, rs: RetryCallState) -> bool:
        if rs.attempt_number >= self.retry.max_attempts:
            return True
        return self._clock() - self._ctx(rs).start >= self.retry.max_elapsed_s

    async def _sleep_counted(self, seconds: float) -> None:
        if seconds > 0:
            self.metrics.wait_s += seconds
        await self._sleep(seconds)

    def _before_sleep(self, rs: RetryCallState) -> None:
        self.metrics.retries += 1
        exc = rs.outcome.exception() if rs.outcome else None
        reason = exc.error.message if isinstance(exc, Retry) else type(exc).__name__
        ctx = self._ctx(rs)
        logger.warning(
            "%s %s %s: attempt %d/%d failed (%s); retrying in %.2fs",
            self.vendor,
            ctx.method,
            self.redactor.url(self._full_url(ctx)),
            rs.attempt_number,
            self.retry.max_attempts,
            self.redactor.redact(reason),
            rs.upcoming_sleep,
        )

    def _give_up(self, rs: RetryCallState) -> NoReturn:
        ctx = self._ctx(rs)
        exc = rs.outcome.exception() if rs.outcome else None
        last = exc.error if isinstance(exc, Retry) else None
        elapsed = self._clock() - ctx.start
        url = self._full_url(ctx)
        raise self._err(
            RetryExhaustedError,
            f"{self.vendor} {ctx.method} {url}: gave up after {rs.attempt_number} attempts "
            f"in {elapsed:.1f}s; last error: {last.message if last else exc!r}",
            ctx,
            url,
            last.status if last else None,
            attempts=rs.attempt_number,
            last_error=last,
        )
