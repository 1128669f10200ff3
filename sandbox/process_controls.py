"""The per-vendor control calls of :class:`~sandbox.server.SandboxProcess`: Uplynk, IBM,
page defects, VALT, IRIS.TV and the media CDN, each a thin wrapper of one
``/_control/...`` route (the routes live in the vendors' ``*_control.py`` modules)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode


class VendorControls:
    """Mixed into ``SandboxProcess``, which provides ``_call`` and ``_ndjson``."""

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        raise NotImplementedError

    def _ndjson(self, path: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def _config(self, vendor: str, knobs: dict[str, Any]) -> dict[str, Any]:
        """Set ``vendor``'s knobs; none given: its current config."""
        if not knobs:
            return self._call("GET", f"/{vendor}/config")
        return self._call("POST", f"/{vendor}/config", knobs)

    def _revoke(self, vendor: str, after_requests: int | None) -> dict[str, Any]:
        """Revoke ``vendor``'s live tokens now, or after ``after_requests`` more requests."""
        body = {} if after_requests is None else {"after_requests": after_requests}
        return self._call("POST", f"/{vendor}/revoke", body)

    # Uplynk helpers (see sandbox/uplynk_control.py; knobs go through reset() / config():
    # uplynk_clock_offset_s, cap_changes_per_ms, get_unknown, create_action, numbers_as_strings)
    def uplynk_burst(self, deletes: int = 0, updates: int = 0) -> dict[str, Any]:
        """``deletes`` live assets deleted and ``updates`` others updated at ONE millisecond,
        never capped. Returns ts_ms, uplynk_ts_ms (feed clock), deleted_ids, updated_ids."""
        return self._call("POST", "/uplynk/burst", {"deletes": deletes, "updates": updates})

    def uplynk_stats(self) -> dict[str, Any]:
        """get_batches, get_error_batches, get_unknown_ids, changes_pages, bursts (each
        with ts_ms, uplynk_ts_ms, deletes, updates), knobs, now_ms, uplynk_now_ms."""
        return self._call("GET", "/uplynk/stats")

    def uplynk_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/uplynk/stats/reset")

    def uplynk_now_ms(self) -> int:
        """The simulated now on the Uplynk feed's clock (now_ms + the feed's offset)."""
        return int(self._call("GET", "/now")["uplynk_now_ms"])

    # IBM helpers (see sandbox/ibm.py; IBM state is rebuilt with the world on reset)
    def ibm_config(self, **knobs: Any) -> dict[str, Any]:
        """Set IBM knobs (sandbox/ibm_state.py): ``token_ttl_s``, ``rate_limits={name:
        {limit, window_s}}`` (token, videos, expiration, client), ``ratelimit_scope``
        ("endpoint" | "client"), ``p_503``, ``put_body`` ("empty" | "json"),
        ``listing_order`` ("recent" | "oldest"), ``listing_churn`` ({every_requests, uploads,
        deletes, delete_from} or None); no arguments: the current config."""
        return self._config("ibm", knobs)

    def ibm_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every live IBM token now, or after ``after_requests`` more API requests."""
        return self._revoke("ibm", after_requests)

    def ibm_stats(self) -> dict[str, Any]:
        """Requests and 429s per endpoint, tokens issued / revoked, PUTs."""
        return self._call("GET", "/ibm/stats")

    def ibm_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/ibm/stats/reset")

    def ibm_tokens(self) -> list[str]:
        """Every IBM access token the sandbox issued since the last reset."""
        return list(self._call("GET", "/ibm/tokens")["tokens"])

    def expected_ibm(self) -> Iterator[dict[str, Any]]:
        """Every IBM video the world knows, with ``listed``, ``rule``, ``expires_at``,
        ``check_error``, ``malformed``, ``channel_id`` as of the simulated now."""
        return self._ndjson("/ibm/videos")

    def ibm_listings(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ground truth of the last 64 channel listings, oldest first: ``channel``, ``state``
        (in_progress | complete | abandoned), ``pages``, ``existed_throughout`` (ids live from
        its page 1 to its last page), ``uploaded`` and ``deleted`` (ids, during it)."""
        path = "/ibm/listings" + (f"?channel={channel}" if channel else "")
        return list(self._call("GET", path)["listings"])

    def ibm_clear_listings(self) -> None:
        self._call("DELETE", "/ibm/listings")

    def ibm_churn(
        self,
        channel: str,
        uploads: int = 0,
        deletes: int = 0,
        delete_ids: list[str] | tuple[str, ...] = (),
    ) -> dict[str, list[str]]:
        """Upload to / delete from an IBM channel now -> ``{"uploaded": ids, "deleted": ids}``."""
        body = {"channel": channel, "uploads": uploads, "deletes": deletes}
        return self._call("POST", "/ibm/churn", {**body, "delete_ids": list(delete_ids)})

    # Response defects (sandbox/defects.py; cleared by reset)
    def defects(
        self, rules: dict[str, Any] | list[dict[str, Any]] | None = None, **rule: Any
    ) -> list[dict[str, Any]]:
        """Replace the defect rules with ``rules`` (one or a list) or the one ``rule`` given
        as keywords (kind=..., vendor=..., path=..., times=..., params=...)."""
        return self._call("POST", "/defects", rules if rules is not None else rule)["rules"]

    def defects_status(self) -> list[dict[str, Any]]:
        """The rules, each with ``matched``, ``applied`` and ``spent``."""
        return self._call("GET", "/defects")["rules"]

    def clear_defects(self) -> None:
        self._call("DELETE", "/defects")

    # VALT helpers (see sandbox/valt.py and sandbox/valt_control.py; rebuilt with the world)
    def valt_config(self, **knobs: Any) -> dict[str, Any]:
        """Set VALT knobs (sandbox/valt_state.py): ``token_ttl_s``, ``download_ttl_s``,
        ``id_style`` ("uuid" | "int"), ``list_cap``, ``download_shape`` ("top" | "data" |
        "mixed"), ``video_bytes``, ``cdn_drop_after_bytes``, ``cdn_drop_times``,
        ``cdn_rate_bytes_s``; no arguments: the current config."""
        return self._config("valt", knobs)

    def valt_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every VALT access token now, or after ``after_requests`` more API requests."""
        return self._revoke("valt", after_requests)

    def valt_churn(self, **counts: Any) -> dict[str, list[Any]]:
        """``creates``, ``renames``, ``retention_changes``, ``deletes`` (counts), optionally
        ``rename_ids`` / ``retention_ids`` / ``delete_ids`` and ``retention`` (an object),
        applied now -> ``{"created", "renamed", "retention_changed", "deleted": [ids]}``."""
        return self._call("POST", "/valt/churn", counts)

    def valt_stats(self) -> dict[str, Any]:
        """Requests per endpoint, 401/403/404s, logins, tokens, URLs, CDN bytes and ranges."""
        return self._call("GET", "/valt/stats")

    def valt_reset_stats(self) -> dict[str, Any]:
        return self._call("POST", "/valt/stats/reset")

    def valt_tokens(self) -> dict[str, list[str]]:
        """``{"tokens": access tokens issued, "url_tokens": download JWTs minted}``."""
        return self._call("GET", "/valt/tokens")

    def expected_valt(
        self, sha256: bool = True, ids: list[Any] | tuple[Any, ...] = ()
    ) -> Iterator[dict[str, Any]]:
        """Every VALT recording ever known (or only ``ids``): details as served, ``deleted``,
        and per video ``bytes`` and (unless ``sha256=False``) ``sha256`` of what the CDN
        serves (hashing takes ~1 s per GB of videos: ask for the ids you need)."""
        query = [("sha256", "1" if sha256 else "0")] + [("id", str(i)) for i in ids]
        return self._ndjson("/valt/expected?" + urlencode(query))

    # IRIS helpers (see sandbox/iris.py, iris_control.py; IRIS state is rebuilt with the world)
    def iris_config(self, **knobs: Any) -> dict[str, Any]:
        """Set IRIS knobs (sandbox/iris_state.py): ``token_ttl_s``, ``refresh_error_p``,
        ``slow_s`` (the media CDN's slow URLs), ``url_ttl_s``, ``number_max``; no arguments:
        the current config (with ``anchor_s``, where source URL expiries are anchored)."""
        return self._config("iris", knobs)

    def iris_revoke(self, after_requests: int | None = None) -> dict[str, Any]:
        """Revoke every IRIS access token now, or after ``after_requests`` more API calls."""
        return self._revoke("iris", after_requests)

    def iris_stats(self) -> dict[str, Any]:
        """Responses per endpoint, ``recs_only_violations``, ``refresh_violations``,
        ``refreshes`` by outcome, tokens, experiences, and ``cdn`` (the media CDN's)."""
        return self._call("GET", "/iris/stats")

    def iris_reset_stats(self) -> dict[str, Any]:
        """Zero the IRIS and media CDN counters."""
        return self._call("POST", "/iris/stats/reset")

    def iris_tokens(self) -> list[str]:
        """Every IRIS access token issued since the last reset."""
        return list(self._call("GET", "/iris/tokens")["tokens"])

    def iris_default_recs(self, number: int | None = None) -> list[str]:
        """The iris_ids a Watch for an unknown platform_id returns (default number_max)."""
        q = "" if number is None else f"?number={int(number)}"
        return list(self._call("GET", "/iris/default_recs" + q)["recommendations"])

    def expected_iris(self, number: int | None = None) -> Iterator[dict[str, Any]]:
        """Every IRIS asset as the data API serves it now, with platform_id,
        source_url_kind, expires, refreshable, refresh_expired, gave_up and the
        recommendations a Watch returns (``number`` of them, default number_max)."""
        return self._ndjson("/iris/expected" + ("" if number is None else f"?number={number}"))

    def expected_media(self) -> Iterator[dict[str, Any]]:
        """Every media CDN URL the sandbox knows (Uplynk mp4_urls, IRIS source URLs):
        system, id, url, kind, expires (null for Uplynk), head_allowed."""
        return self._ndjson("/media/expected")

    def media_stats(self) -> dict[str, Any]:
        """The media CDN's counters: statuses, methods, systems, range requests, bytes,
        max_in_flight."""
        return self._call("GET", "/media/stats")

    def media_config(self, **knobs: Any) -> dict[str, Any]:
        """``head_405_share``: the share of CDN URLs answering HEAD with 405."""
        return self._config("media", knobs)
