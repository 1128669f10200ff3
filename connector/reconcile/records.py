"""The records every rule compares: each present system's rows, normalised, and which of them
changed since the last run.

:func:`present_systems` asks the catalog which systems' tables (and which of their columns)
exist: a system whose table is missing is an empty system, a missing column is NULL, so the
engine runs with two, three or four systems. :func:`source_sql` turns the rules into one
``SELECT ... UNION ALL ...`` over the raw tables (identifiers come from the checked rules file,
never from data); :func:`refresh` materialises it once per run as the temp table
``xref_source``, which the ``sql/*.sql`` statements read.

:func:`refresh` (in the caller's transaction) marks new, changed and vanished records dirty by
their fingerprint (a 64-bit hash of the fields any rule reads) and rewrites their normalised
rows and key values. Dirty marks persist until a run completes (:mod:`.engine`), so a run that dies is
finished by the next.
"""

from __future__ import annotations

import re

from connector.warehouse import Warehouse, WriteTx, sql_file

from .rules import KeyRule, KeySide, Rules, System


def present_systems(warehouse: Warehouse, rules: Rules) -> dict[str, set[str]]:
    """System name -> the columns its table has, for the systems whose table exists."""
    tables = {s.table for s in rules.systems.values()}
    rows = warehouse.query(
        "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name || '.' || table_name "
        "IN (SELECT unnest($tables))",
        {"tables": sorted(tables)},
    )
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return {name: columns[s.table] for name, s in rules.systems.items() if s.table in columns}


def _col(column: str, have: set[str], cast: str) -> str:
    return f'CAST("{column}" AS {cast})' if column in have else f"CAST(NULL AS {cast})"


def _key_value(side: KeySide, rule: KeyRule, have: set[str]) -> str:
    if side.column not in have:
        return "CAST(NULL AS VARCHAR)"
    if side.json_key is None:
        raw = f'CAST("{side.column}" AS VARCHAR)'
    else:
        raw = f"json_extract_string(\"{side.column}\", '$.{side.json_key}')"
    if rule.normalize == "id":  # case, surrounding spaces and a "namespace:" prefix ignored
        return f"regexp_replace(lower(trim({raw})), '^[a-z]+:\\s*', '')"
    return f"trim({raw})"


def _system_select(system: System, rules: Rules, have: set[str]) -> str:
    keys = []
    for rule in rules.keys:
        for side_name, side in (("left", rule.left), ("right", rule.right)):
            if side.system == system.name:
                value = _key_value(side, rule, have)
                keys.append(f"{{'rule': '{rule.name}', 'side': '{side_name}', 'value': {value}}}")
    key_list = (
        f"[{', '.join(keys)}]"
        if keys
        else ("CAST([] AS STRUCT(rule VARCHAR, side VARCHAR, value VARCHAR)[])")
    )
    title = _col(system.title, have, "VARCHAR")
    duration = _col(system.duration, have, "DOUBLE")
    created = _col(system.created, have, "TIMESTAMPTZ")
    # hash() of the values themselves (an md5 of their text took 2 s per million rows: casting
    # timestamps and structs to text); NULLs and the argument order are part of the hash
    values = [title, duration, created] + [
        _key_value(side, rule, have)
        for rule in rules.keys
        for side in (rule.left, rule.right)
        if side.system == system.name
    ]
    fingerprint = f"CAST(hash({', '.join(values)}) AS VARCHAR)"
    return (
        f"SELECT '{system.name}' AS system, CAST(\"{system.id}\" AS VARCHAR) AS system_id, "
        f"{title} AS title, {duration} AS duration_s, {created} AS created_at, "
        f"{key_list} AS keys, {fingerprint} AS fingerprint "
        f'FROM {system.table} WHERE "{system.id}" IS NOT NULL'
    )


def source_sql(rules: Rules, present: dict[str, set[str]]) -> str:
    """One query over every present system's raw rows: system, system_id, title, duration_s,
    created_at, keys (list of rule/side/value), fingerprint."""
    parts = [
        _system_select(rules.systems[name], rules, have) for name, have in sorted(present.items())
    ]
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS system, NULL::VARCHAR AS system_id, NULL::VARCHAR AS title, "
            "NULL::DOUBLE AS duration_s, NULL::TIMESTAMPTZ AS created_at, "
            "CAST([] AS STRUCT(rule VARCHAR, side VARCHAR, value VARCHAR)[]) AS keys, "
            "NULL::VARCHAR AS fingerprint WHERE false"
        )
    return "\nUNION ALL\n".join(parts)


def suffix_pattern(rules: Rules) -> str:
    """The regex that removes trailing noise words from a normalised title (never all of it)."""
    if not rules.noise_suffixes:
        return "$^"  # matches nothing (RE2 has no lookahead)
    words = "|".join(re.escape(w) for w in rules.noise_suffixes)
    return f"(?:\\s+(?:{words}))+$"


def refresh(tx: WriteTx, rules: Rules, present: dict[str, set[str]]) -> int:
    """Mark changed records dirty and rewrite their normalised rows and key values; returns
    how many records became dirty in this call. The raw tables are read once, into the temp
    table ``xref_source`` (dropped at the end)."""
    tx.run(f"CREATE OR REPLACE TEMP TABLE xref_source AS {source_sql(rules, present)}")
    marked = tx.run(sql_file(__file__, "mark_dirty"))
    tx.run(sql_file(__file__, "drop_dirty_records"))
    tx.run(sql_file(__file__, "refresh_records"), {"suffix_re": suffix_pattern(rules)})
    for rule in rules.keys:
        tx.run(
            sql_file(__file__, "drop_dirty_key_links"),
            {"rule": rule.name, "left_system": rule.left.system, "right_system": rule.right.system},
        )
    tx.run(sql_file(__file__, "drop_dirty_keys"))
    tx.run(sql_file(__file__, "refresh_keys"))
    tx.run("DROP TABLE xref_source")
    return marked
