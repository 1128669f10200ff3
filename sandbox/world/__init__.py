"""The generated world: one catalog of canonical assets shared by the four vendor emulations.

Deterministic from ``(seed, n_assets)`` (and ``epoch_ms``, the simulated "now" the world was
built at: every initial timestamp is ``epoch_ms`` plus a seed-derived offset, so pass the same
``epoch_ms`` to get byte-identical output). Built to scale to millions of assets: the only
per-asset state kept is a handful of numpy arrays of *mutable* state

    created_ms, lastmod_ms, deleted_ms (0 = live), autoexpire_ms (0 = never), version, flags

and every other field (ids, titles, durations, meta, urls, state, per-vendor membership and
ids) is *derived* on demand from ``(seed, index, version)`` with 64-bit bit mixing (the
splitmix64 finalizer, which is invertible, so ids decode back to indices in O(1)).

Canonical index ``i`` in ``[0, n)``. One module per concern, mixed into :class:`World`:

    core.py      WorldCore: construction, the mutable arrays, the derived-field cache
    churn.py     Churn: simulated clock, settle (autoexpiry), advance (churn), burst
    feed.py      ChangeFeed: the change log as asset/changes reads it (retention, feed clock)
    knobs.py     the settings, their defaults and checks (Uplynk quirks included)
    mixing.py    bit mixing and salts;  words.py  the word lists titles are made of
    uplynk.py    UplynkAssets: ids, external ids, titles, assets as JSON, the expected export
    listing.py   UplynkListing: asset/list orderings and search
    ibm.py       IbmViews: ``ibm_*`` (~40% of canonical assets, plus IBM-only videos)
    valt.py      ValtViews: ``valt_*`` (~15%, plus VALT-only recordings)
    iris.py      IrisViews: ``iris_*`` (~60%, plus IRIS-only assets)
    truth.py     TruthViews: titles as other vendors spell them, ground-truth rows

Extension points for vendor modules are the ``ibm_*``, ``valt_*`` and ``iris_*`` functions
and :meth:`World.truth`; add fields there (derive them from ``_static_hash`` with a new salt)
rather than storing new per-asset state.

Churn: :meth:`World.advance` moves the simulated clock and applies creates, updates and
deletes at timestamps spread over the interval; autoexpire deletions happen at their exact
time (lazily, :meth:`World.settle`, as the real clock passes them, or inside ``advance``).
"""

from __future__ import annotations

from .churn import Churn
from .core import (
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_NAMES,
    ACTION_UPDATE,
    DAY_MS,
    FLAG_MALFORMED,
    WorldCore,
)
from .feed import ChangeFeed
from .ibm import IBM_CHANNEL_IDS, IbmViews
from .iris import IrisViews
from .listing import UplynkListing
from .mixing import M64, mix, mix_int, unmix_int
from .truth import TruthViews
from .uplynk import MALFORMED_KINDS, UplynkAssets
from .valt import ValtViews
from .words import ADJ, GENRES, NOUN, RATINGS, SERIES


class World(
    UplynkAssets,
    UplynkListing,
    IbmViews,
    ValtViews,
    IrisViews,
    TruthViews,
    ChangeFeed,
    Churn,
    WorldCore,
):
    """The generated world. See the package docstring; the constructor is WorldCore's."""


__all__ = [
    "ACTION_CREATE",
    "ACTION_DELETE",
    "ACTION_NAMES",
    "ACTION_UPDATE",
    "ADJ",
    "DAY_MS",
    "FLAG_MALFORMED",
    "GENRES",
    "IBM_CHANNEL_IDS",
    "M64",
    "MALFORMED_KINDS",
    "NOUN",
    "RATINGS",
    "SERIES",
    "World",
    "mix",
    "mix_int",
    "unmix_int",
]
