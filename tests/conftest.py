"""Shared pytest fixtures. Keep each fixture small; add new ones below."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxProcess


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox server (all vendors, loopback) for the whole test session."""
    with SandboxProcess(seed=7, assets=2000) as sb:
        yield sb


@pytest.fixture
def fresh_sandbox(sandbox):
    """The session sandbox reset to seed 7, 2,000 assets, no faults, zeroed stats."""
    sandbox.reset(seed=7, assets=2000)
    sandbox.clear_faults()
    sandbox.reset_stats()
    yield sandbox
