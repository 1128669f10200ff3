"""The JSONP of IRIS.TV's Watch and Next answers, written in the style of the vendor's samples
(vendor-docs/iris-player-personalization.txt):

    jQuery191028397097534104254_1407970311998({
    'success': true,
    'next': [
    {
    'iris_id': '2140j908',
    'platform': 'VideoPublisher',
    'platform_id': '780YOTSDB'',
    'release_date': '2012-10-22 12:30:58 UTC',
    'reviewed': '2013-02-05 23:02:24 UTC',
    },
    {
    ...
    'release_date': '2014-05-24 19:33:28 UTC'
    }
    ],
    'experience': '53ebec0d321d0690858dw5r1',
    'sc':false
    })

One key per line, single-quoted strings, bare ``true``/``false``/numbers; an item whose last
key is ``reviewed`` keeps a trailing comma, as in the samples; the items the caller marks get
the samples' doubled closing quote on ``platform_id``. Watch answers end with ``'sc':false``
after the experience, Next answers with the experience alone. ``'default_recs': true``
follows ``'success': true`` when the asked-about asset is unknown. A quote or backslash in a
string is escaped with a backslash, as JavaScript reads it.
"""

from __future__ import annotations

import re
from typing import Any

CALLBACK_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$")
DEFAULT_CALLBACK = "callback"

Item = tuple[list[tuple[str, Any]], bool, bool]  # (fields, doubled quote, trailing comma)


def value(v: Any) -> str:
    """One value in the vendor's pseudo-JSON."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{s}'"


def _item(fields: list[tuple[str, Any]], doubled: bool, trailing: bool) -> list[str]:
    lines = ["{"]
    last = len(fields) - 1
    for k, (name, v) in enumerate(fields):
        text = f"'{name}': {value(v)}"
        if doubled and name == "platform_id":
            text += "'"
        if k < last or trailing:
            text += ","
        lines.append(text)
    lines.append("}")
    return lines


def render(
    callback: str | None,
    items: list[Item],
    experience: str,
    *,
    default_recs: bool = False,
    watch: bool = True,
) -> str:
    """A Watch (``watch=True``) or Next answer, JSONP text."""
    lines = [f"{callback or DEFAULT_CALLBACK}({{", "'success': true,"]
    if default_recs:
        lines.append("'default_recs': true,")
    lines.append("'next': [")
    for k, (fields, doubled, trailing) in enumerate(items):
        block = _item(fields, doubled, trailing)
        if k < len(items) - 1:
            block[-1] = "},"
        lines += block
    lines.append("],")
    if watch:
        lines += [f"'experience': {value(experience)},", "'sc':false"]
    else:
        lines.append(f"'experience': {value(experience)}")
    lines.append("})")
    return "\n".join(lines)
