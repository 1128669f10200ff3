"""Credentials the sandbox accepts.

Uplynk: the sandbox accepts exactly the owner / API key found in the environment variables
``UPLYNK_OWNER`` and ``UPLYNK_API_KEY`` when they are set when the server starts; otherwise
it accepts the documented defaults below. They are fake, public, sandbox-only values: they
authenticate against nothing but this emulator.

    UPLYNK_OWNER   = DEFAULT_UPLYNK_OWNER   = "5a1b0c0d5a1b0c0d5a1b0c0d5a1b0c0d"
    UPLYNK_API_KEY = DEFAULT_UPLYNK_API_KEY = "sandbox-uplynk-api-key-0123456789abcdef"

Other vendors (IBM, VALT, IRIS) add their defaults here, following the same pattern.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_UPLYNK_OWNER = "5a1b0c0d5a1b0c0d5a1b0c0d5a1b0c0d"
DEFAULT_UPLYNK_API_KEY = "sandbox-uplynk-api-key-0123456789abcdef"


@dataclass(frozen=True)
class UplynkCredentials:
    owner: str
    api_key: str


def uplynk_credentials(environ: dict[str, str] | None = None) -> UplynkCredentials:
    env = os.environ if environ is None else environ
    return UplynkCredentials(
        owner=env.get("UPLYNK_OWNER") or DEFAULT_UPLYNK_OWNER,
        api_key=env.get("UPLYNK_API_KEY") or DEFAULT_UPLYNK_API_KEY,
    )
