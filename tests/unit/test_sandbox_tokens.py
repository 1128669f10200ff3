"""The sandbox's token book (sandbox/tokens.py), shared by its IBM, IRIS.TV and VALT."""

from __future__ import annotations

import time

import pytest

from sandbox.tokens import TokenBook


def test_a_token_lives_its_ttl_and_an_unknown_one_never():
    book = TokenBook()
    live, short = book.issue(60), book.issue(0.01)
    time.sleep(0.02)
    assert book.is_live(live) and not book.is_live(short)
    assert not book.is_live("not-issued") and not book.is_live(None)
    assert book.issued == 2 and book.log == [live, short] and book.live() == 1


def test_revoke_after_n_requests_lands_on_the_request_after_the_nth():
    book = TokenBook()
    token = book.issue(60)
    assert book.revoke({"after_requests": 2}) == {"revoke_after": 2}
    assert [book.is_live(token) for _ in range(3)] == [True, True, False]
    assert book.revoked == 1 and book.revoke_after is None
    fresh = book.issue(60)
    assert book.is_live(fresh)  # a renewal after the revocation works


def test_revoke_now_and_bad_bodies():
    book = TokenBook()
    book.issue(60), book.issue(60)
    assert book.revoke({}) == {"revoked": 2} and book.live() == 0
    for bad in (-1, "3", 1.5, True):
        with pytest.raises(ValueError, match="after_requests"):
            book.revoke({"after_requests": bad})
    assert book.revoke_after is None
