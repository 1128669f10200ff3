"""RequestMetrics counters."""

from __future__ import annotations

from connector.http import RequestMetrics


def test_count_status_classifies_429_as_4xx_too():
    m = RequestMetrics()
    for s in (200, 204, 404, 429, 503, 302):
        m.count_status(s)
    assert (m.responses_2xx, m.responses_4xx, m.responses_429, m.responses_5xx) == (2, 2, 1, 1)
    assert m.responses_other == 1


def test_merge_adds_counters_and_unions_spans():
    a, b = RequestMetrics(requests=2, wait_s=0.5), RequestMetrics(requests=3, retries=1)
    a.span(10.0, 12.0)
    b.span(11.0, 15.0)
    assert a.merge(b) is a
    d = a.as_dict()
    assert d["requests"] == 5 and d["retries"] == 1 and d["wait_s"] == 0.5
    assert d["elapsed"] == 5.0
    assert not any(k.startswith("_") for k in d)
