"""RetryPolicy wait computation."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from connector.http import RetryPolicy

NOW = 1_700_000_000.0


def test_retry_after_seconds_wins_over_ratelimit_reset():
    p = RetryPolicy()
    h = {"Retry-After": "3", "X-RateLimit-Reset": str(NOW + 20), "X-RateLimit-Remaining": "0"}
    assert p.compute_wait(1, headers=h, status=429, now=NOW) == 3.0


def test_retry_after_http_date_is_converted_to_seconds():
    p = RetryPolicy()
    h = {"retry-after": formatdate(NOW + 9, usegmt=True)}
    assert p.compute_wait(1, headers=h, status=503, now=NOW) == pytest.approx(9.0)


def test_ratelimit_reset_used_for_429_and_for_exhausted_remaining():
    p = RetryPolicy()
    h = {"X-RateLimit-Reset": str(NOW + 4.5), "X-RateLimit-Remaining": "0"}
    assert p.compute_wait(1, headers=h, status=429, now=NOW) == pytest.approx(4.5)
    assert p.compute_wait(1, headers=h, status=503, now=NOW) == pytest.approx(4.5)


def test_ratelimit_reset_ignored_for_5xx_with_budget_left():
    p = RetryPolicy(jitter=False)
    h = {"X-RateLimit-Reset": str(NOW + 50), "X-RateLimit-Remaining": "700"}
    assert p.compute_wait(1, headers=h, status=503, now=NOW) == 0.2


def test_ratelimit_reset_as_delta_seconds_is_accepted():
    p = RetryPolicy()
    assert p.compute_wait(1, headers={"X-RateLimit-Reset": "2"}, status=429, now=NOW) == 2.0


def test_backoff_is_exponential_and_capped_without_jitter():
    p = RetryPolicy(initial_wait_s=0.5, max_wait_s=3.0, jitter=False)
    assert [p.compute_wait(a) for a in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_full_jitter_stays_within_zero_and_the_exponential_bound():
    p = RetryPolicy(initial_wait_s=1.0, max_wait_s=30.0)
    assert p.compute_wait(3, rng=lambda: 0.0) == 0.0
    assert p.compute_wait(3, rng=lambda: 0.5) == 2.0
    assert p.compute_wait(3, rng=lambda: 0.999) == pytest.approx(3.996)


def test_header_wait_capped_by_max_wait_and_remaining_budget():
    p = RetryPolicy(max_wait_s=10.0, max_elapsed_s=60.0)
    assert p.compute_wait(1, headers={"Retry-After": "100"}, now=NOW) == 10.0
    assert p.compute_wait(1, headers={"Retry-After": "8"}, elapsed_s=55.0, now=NOW) == 5.0
    assert p.compute_wait(1, headers={"Retry-After": "8"}, elapsed_s=70.0, now=NOW) == 0.0


def test_garbage_headers_fall_back_to_backoff():
    p = RetryPolicy(jitter=False)
    h = {"Retry-After": "soon", "X-RateLimit-Reset": "later"}
    assert p.compute_wait(2, headers=h, status=429, now=NOW) == 0.4
