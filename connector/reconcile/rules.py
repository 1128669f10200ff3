"""The matching rules as data: ``rules.toml`` beside this module (or a file of the same shape).

:func:`load_rules` reads and checks it into :class:`Rules`: the systems (which table, which
columns), the exact key rules, the fuzzy pairs, the re-upload rules and the scoring weights.
A bad file raises :class:`RulesError` naming what is wrong. :attr:`Rules.digest` changes with the file's content;
a run that sees another digest than the last one re-matches everything.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_RULES = Path(__file__).with_name("rules.toml")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
_MANY = ("none", "left", "right")


class RulesError(ValueError):
    """The rules file is malformed (the message names the entry)."""


@dataclass(frozen=True)
class System:
    name: str
    table: str
    id: str
    title: str
    duration: str
    created: str


@dataclass(frozen=True)
class KeySide:
    system: str
    column: str
    json_key: str | None = None


@dataclass(frozen=True)
class KeyRule:
    name: str
    left: KeySide
    right: KeySide
    normalize: str
    many: str


@dataclass(frozen=True)
class FuzzyPair:
    name: str
    left: str
    right: str
    many: str

    @property
    def rule(self) -> str:
        return f"fuzzy:{self.name}"


@dataclass(frozen=True)
class Reupload:
    """Two records of one system that are one upload made twice: the same first word and
    numbers in the title and the same duration to the millisecond."""

    name: str
    system: str

    @property
    def rule(self) -> str:
        return f"reupload:{self.name}"


@dataclass(frozen=True)
class Rules:
    systems: dict[str, System]
    keys: tuple[KeyRule, ...]
    fuzzy: tuple[FuzzyPair, ...]
    scoring: dict[str, float]
    noise_suffixes: tuple[str, ...]
    digest: str = field(default="")
    reuploads: tuple[Reupload, ...] = ()

    def key_fields(self, system: str) -> list[KeySide]:
        """Every key field of ``system`` (in rule order), for its fingerprint."""
        sides = [s for r in self.keys for s in (r.left, r.right) if s.system == system]
        return list(dict.fromkeys(sides))


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file (default: ``rules.toml`` beside this module)."""
    path = Path(path) if path is not None else DEFAULT_RULES
    text = path.read_bytes()
    try:
        data = tomllib.loads(text.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: {exc}") from None
    systems = {name: _system(name, spec) for name, spec in data.get("systems", {}).items()}
    if not systems:
        raise RulesError(f"{path}: no [systems.*] tables")
    keys = tuple(_key(spec, systems) for spec in data.get("key", []))
    fuzzy = tuple(_fuzzy(spec, systems) for spec in data.get("fuzzy", []))
    reuploads = tuple(_reupload(spec, systems) for spec in data.get("reupload", []))
    names = [r.name for r in keys] + [f.name for f in fuzzy] + [r.name for r in reuploads]
    if len(set(names)) != len(names):
        raise RulesError(f"{path}: rule names must be unique: {names}")
    scoring = {k: float(v) for k, v in data.get("scoring", {}).items()}
    missing = sorted(set(_SCORING) - set(scoring))
    if missing:
        raise RulesError(f"{path}: [scoring] lacks {missing}")
    suffixes = tuple(data.get("normalize", {}).get("noise_suffixes", []))
    if not all(isinstance(s, str) and re.fullmatch(r"[a-z0-9]+", s) for s in suffixes):
        raise RulesError(f"{path}: noise_suffixes must be lower-case words: {suffixes}")
    digest = hashlib.sha256(text).hexdigest()[:16]
    return Rules(systems, keys, fuzzy, scoring, suffixes, digest, reuploads)


_SCORING = [
    "threshold",
    "margin",
    "duplicate_seconds",
    "max_block",
    "duration_bucket_s",
    "title_exact",
    "title_typo",
    "title_typo_min",
    "title_close",
    "title_close_min",
    "title_other",
    "numbers_agree",
    "numbers_differ",
    "first_word_agree",
    "first_word_differ",
    "duration_same",
    "duration_near",
    "duration_loose",
    "duration_other",
    "created_same",
    "created_near",
    "created_other",
]


def _need(spec: dict[str, Any], key: str, where: str) -> Any:
    if key not in spec:
        raise RulesError(f"{where}: missing {key!r}")
    return spec[key]


def _system(name: str, spec: dict[str, Any]) -> System:
    where = f"[systems.{name}]"
    table = _need(spec, "table", where)
    if not _TABLE.match(table):
        raise RulesError(f"{where}: table must be schema.table, got {table!r}")
    cols = {k: _need(spec, k, where) for k in ("id", "title", "duration", "created")}
    bad = [v for v in cols.values() if not _IDENT.match(str(v))]
    if bad or not _IDENT.match(name):
        raise RulesError(f"{where}: names must be plain identifiers: {bad or name}")
    return System(name, table, **cols)


def _side(spec: Any, systems: dict[str, System], where: str) -> KeySide:
    if not isinstance(spec, dict):
        raise RulesError(f"{where}: a side is {{ system = ..., field = ... }}")
    system, fld = _need(spec, "system", where), str(_need(spec, "field", where))
    if system not in systems:
        raise RulesError(f"{where}: unknown system {system!r}")
    column, _, json_key = fld.partition(".")
    if not _IDENT.match(column) or (json_key and not _IDENT.match(json_key)):
        raise RulesError(f"{where}: field must be column or column.json_key, got {fld!r}")
    return KeySide(system, column, json_key or None)


def _key(spec: dict[str, Any], systems: dict[str, System]) -> KeyRule:
    name = str(_need(spec, "name", "[[key]]"))
    where = f"[[key]] {name!r}"
    rule = KeyRule(
        name,
        _side(_need(spec, "left", where), systems, where),
        _side(_need(spec, "right", where), systems, where),
        str(spec.get("normalize", "exact")),
        str(spec.get("many", "none")),
    )
    if rule.normalize not in ("exact", "id"):
        raise RulesError(f"{where}: normalize must be 'exact' or 'id'")
    if rule.many not in _MANY or rule.left.system == rule.right.system:
        raise RulesError(f"{where}: many must be one of {_MANY}; sides in two systems")
    return rule


def _fuzzy(spec: dict[str, Any], systems: dict[str, System]) -> FuzzyPair:
    name = str(_need(spec, "name", "[[fuzzy]]"))
    where = f"[[fuzzy]] {name!r}"
    pair = FuzzyPair(
        name, _need(spec, "left", where), _need(spec, "right", where), spec.get("many", "none")
    )
    if pair.left not in systems or pair.right not in systems or pair.left == pair.right:
        raise RulesError(f"{where}: left and right must be two known systems")
    if pair.many not in ("none", "right"):
        raise RulesError(f"{where}: many must be 'none' or 'right'")
    return pair


def _reupload(spec: dict[str, Any], systems: dict[str, System]) -> Reupload:
    name = str(_need(spec, "name", "[[reupload]]"))
    rule = Reupload(name, _need(spec, "system", f"[[reupload]] {name!r}"))
    if rule.system not in systems:
        raise RulesError(f"[[reupload]] {name!r}: unknown system {rule.system!r}")
    return rule
