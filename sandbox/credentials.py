"""Credentials the sandbox accepts.

Uplynk: the sandbox accepts exactly the owner / API key found in the environment variables
``UPLYNK_OWNER`` and ``UPLYNK_API_KEY`` when they are set when the server starts; otherwise
it accepts the documented defaults below. They are fake, public, sandbox-only values: they
authenticate against nothing but this emulator.

    UPLYNK_OWNER   = DEFAULT_UPLYNK_OWNER   = "5a1b0c0d5a1b0c0d5a1b0c0d5a1b0c0d"
    UPLYNK_API_KEY = DEFAULT_UPLYNK_API_KEY = "sandbox-uplynk-api-key-0123456789abcdef"

IBM Video Streaming: ``IBM_VIDEO_CLIENT_ID`` / ``IBM_VIDEO_CLIENT_SECRET`` when set, else

    IBM_VIDEO_CLIENT_ID     = DEFAULT_IBM_CLIENT_ID     = "sandbox-ibm-client-0001"
    IBM_VIDEO_CLIENT_SECRET = DEFAULT_IBM_CLIENT_SECRET = "sandbox-ibm-client-secret-0123456789abcdef"
    IBM_VIDEO_CHANNEL_IDS   = every channel of the world (sandbox.world.IBM_CHANNEL_IDS)

VALT: ``VALT_USERNAME`` / ``VALT_PASSWORD`` when set, else

    VALT_USERNAME = DEFAULT_VALT_USERNAME = "sandbox-valt-user"
    VALT_PASSWORD = DEFAULT_VALT_PASSWORD = "sandbox-valt-password-0123456789abcdef"

IRIS.TV: ``IRIS_CLIENT_ID`` / ``IRIS_CLIENT_SECRET`` / ``IRIS_CLIENT_TOKEN`` /
``IRIS_PLATFORM`` when set, else

    IRIS_CLIENT_ID     = DEFAULT_IRIS_CLIENT_ID     = "sandbox-iris-client"
    IRIS_CLIENT_SECRET = DEFAULT_IRIS_CLIENT_SECRET = "sandbox-iris-secret-0123456789abcdef"
    IRIS_CLIENT_TOKEN  = DEFAULT_IRIS_CLIENT_TOKEN  = "SANDBOXCT01"
    IRIS_PLATFORM      = DEFAULT_IRIS_PLATFORM      = "VideoPublisher"
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


DEFAULT_IBM_CLIENT_ID = "sandbox-ibm-client-0001"
DEFAULT_IBM_CLIENT_SECRET = "sandbox-ibm-client-secret-0123456789abcdef"


@dataclass(frozen=True)
class IbmCredentials:
    client_id: str
    client_secret: str
    channel_ids: tuple[str, ...]


def ibm_credentials(environ: dict[str, str] | None = None) -> IbmCredentials:
    from .world import IBM_CHANNEL_IDS

    env = os.environ if environ is None else environ
    channels = tuple(
        c.strip() for c in (env.get("IBM_VIDEO_CHANNEL_IDS") or "").split(",") if c.strip()
    )
    return IbmCredentials(
        client_id=env.get("IBM_VIDEO_CLIENT_ID") or DEFAULT_IBM_CLIENT_ID,
        client_secret=env.get("IBM_VIDEO_CLIENT_SECRET") or DEFAULT_IBM_CLIENT_SECRET,
        channel_ids=channels or tuple(IBM_CHANNEL_IDS),
    )


DEFAULT_VALT_USERNAME = "sandbox-valt-user"
DEFAULT_VALT_PASSWORD = "sandbox-valt-password-0123456789abcdef"


@dataclass(frozen=True)
class ValtCredentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"ValtCredentials(username={self.username!r}, password='***')"


def valt_credentials(environ: dict[str, str] | None = None) -> ValtCredentials:
    """The VALT login the sandbox accepts: the environment's when set, else the defaults."""
    env = os.environ if environ is None else environ
    return ValtCredentials(
        username=env.get("VALT_USERNAME") or DEFAULT_VALT_USERNAME,
        password=env.get("VALT_PASSWORD") or DEFAULT_VALT_PASSWORD,
    )


DEFAULT_IRIS_CLIENT_ID = "sandbox-iris-client"
DEFAULT_IRIS_CLIENT_SECRET = "sandbox-iris-secret-0123456789abcdef"
DEFAULT_IRIS_CLIENT_TOKEN = "SANDBOXCT01"
DEFAULT_IRIS_PLATFORM = "VideoPublisher"


@dataclass(frozen=True)
class IrisCredentials:
    client_id: str
    client_secret: str
    client_token: str
    platform: str


def iris_credentials(environ: dict[str, str] | None = None) -> IrisCredentials:
    """The IRIS client the sandbox accepts: the environment's values when set, else the
    defaults."""
    env = os.environ if environ is None else environ
    return IrisCredentials(
        client_id=env.get("IRIS_CLIENT_ID") or DEFAULT_IRIS_CLIENT_ID,
        client_secret=env.get("IRIS_CLIENT_SECRET") or DEFAULT_IRIS_CLIENT_SECRET,
        client_token=env.get("IRIS_CLIENT_TOKEN") or DEFAULT_IRIS_CLIENT_TOKEN,
        platform=env.get("IRIS_PLATFORM") or DEFAULT_IRIS_PLATFORM,
    )
