"""Request counters per (vendor, path, status), faults served per (vendor, kind), and the
most requests each vendor had in flight at once (counted by ``latency.LatencyMiddleware``)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

_ID_SEG = re.compile(
    r"^(\d+|[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|iris_[0-9a-f]+)(\.json)?$"
)

# a VALT CDN file name: {n}_{recordID}_{n}.mp4
_VIDEO_FILE = re.compile(r"^\d+_[0-9a-fA-F-]+_\d+\.mp4$")


def normalize_path(path: str) -> str:
    """Collapse id-like path segments so counters stay bounded:
    /ibm/api/videos/1234/expiration.json -> /ibm/api/videos/{id}/expiration.json,
    /valt-cdn/distribution/<uuid>/1_<uuid>_1.mp4 -> /valt-cdn/distribution/{id}/{n}_{id}_{n}.mp4"""
    parts = path.split("/")
    for k, p in enumerate(parts):
        m = _ID_SEG.match(p)
        if m:
            parts[k] = "{id}" + (m.group(2) or "")
        elif _VIDEO_FILE.match(p):
            parts[k] = "{n}_{id}_{n}.mp4"
    return "/".join(parts)


def vendor_of(path: str) -> str:
    return path.split("/", 2)[1] if path.startswith("/") and len(path) > 1 else ""


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.faults: Counter[tuple[str, str]] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    def enter(self, vendor: str) -> None:
        n = self.in_flight[vendor] = self.in_flight[vendor] + 1
        if n > self.max_in_flight[vendor]:
            self.max_in_flight[vendor] = n

    def leave(self, vendor: str) -> None:
        self.in_flight[vendor] -= 1

    def count(self, vendor: str, path: str, status: int) -> None:
        self.requests[(vendor, normalize_path(path), status)] += 1

    def fault(self, vendor: str, kind: str) -> None:
        self.faults[(vendor, kind)] += 1

    def reset(self) -> None:
        self.requests.clear()
        self.faults.clear()
        # requests still in flight count towards the next maximum
        self.max_in_flight = Counter({v: n for v, n in self.in_flight.items() if n > 0})

    def snapshot(self) -> dict[str, Any]:
        by_vendor: Counter[str] = Counter()
        for (v, _, _), c in self.requests.items():
            by_vendor[v] += c
        return {
            "requests": [
                {"vendor": v, "path": p, "status": s, "count": c}
                for (v, p, s), c in sorted(self.requests.items())
            ],
            "faults": [
                {"vendor": v, "kind": k, "count": c} for (v, k), c in sorted(self.faults.items())
            ],
            "total_requests": sum(self.requests.values()),
            "total_faults": sum(self.faults.values()),
            "by_vendor": dict(by_vendor),
            "max_in_flight": dict(self.max_in_flight),
        }
