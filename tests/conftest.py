"""Shared pytest fixtures. Keep each fixture small; add new ones below.

The habit of this suite (tests/README.md): a test that claims a behaviour has been seen to
fail with that behaviour broken. Break it by hand with the smallest edit, run the test, read
why it failed, restore, and add the breakage to the table in tests/README.md. Expected values
come from the sandbox's ground truth or an obvious restatement in the test, never from the
code under test or from another run of it.
"""

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
