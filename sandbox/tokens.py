"""The access tokens one sandbox vendor has issued (IBM, IRIS.TV and VALT keep one each).

Each token lives ``ttl_s`` real seconds. Tests revoke every live token at once, or after N
more API requests (``revoke_after``: each :meth:`TokenBook.is_live` check spends one, so
the revocation lands mid-run). Every token issued is also logged (bounded) so tests can
look for it in what the connector wrote: the ground truth of the secrets checks.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

MAX_TOKENS = 10_000  # tokens kept (expired ones are pruned past this) and tokens logged


class TokenBook:
    """Issue, check and revoke one vendor's access tokens; counts for ``/stats``."""

    def __init__(self, new_token: Callable[[], str] = lambda: secrets.token_hex(20)) -> None:
        self.new_token = new_token
        self.lock = threading.Lock()
        self.expiry: dict[str, float] = {}  # token -> real expiry (Unix s)
        self.log: list[str] = []  # every token issued (test ground truth; bounded)
        self.revoke_after: int | None = None
        self.issued = 0
        self.revoked = 0

    def issue(self, ttl_s: float) -> str:
        token = self.new_token()
        now = time.time()
        with self.lock:
            if len(self.expiry) > MAX_TOKENS:
                self.expiry = {t: e for t, e in self.expiry.items() if e > now}
            self.expiry[token] = now + ttl_s
            self.issued += 1
            if len(self.log) < MAX_TOKENS:
                self.log.append(token)
        return token

    def revoke_all(self) -> int:
        """Revoke every token now (and forget a pending ``revoke_after``); how many."""
        with self.lock:
            n = len(self.expiry)
            self.expiry.clear()
            self.revoked += n
            self.revoke_after = None
        return n

    def is_live(self, token: str | None) -> bool:
        """Is ``token`` issued, unexpired and not revoked? Spends one request of a pending
        ``revoke_after`` first (a request without a token counts too)."""
        if self.revoke_after is not None:
            self.revoke_after -= 1
            if self.revoke_after < 0:
                self.revoke_all()
        if not token:
            return False
        exp = self.expiry.get(token)
        return exp is not None and exp > time.time()

    def live(self) -> int:
        now = time.time()
        return sum(1 for e in self.expiry.values() if e > now)

    def reset_counts(self) -> None:
        self.issued = self.revoked = 0

    def revoke(self, body: dict[str, Any]) -> dict[str, Any]:
        """The ``/_control/<vendor>/revoke`` body: ``{"after_requests": N}`` revokes after
        N more requests, ``{}`` revokes now. ValueError for anything else."""
        after = body.get("after_requests")
        if after is None:
            return {"revoked": self.revoke_all()}
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after_requests must be an integer >= 0")
        self.revoke_after = after
        return {"revoke_after": after}
