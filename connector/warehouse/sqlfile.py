"""SQL kept in ``.sql`` files beside the Python that runs it.

A source keeps the statements it runs over its raw tables in ``<source>/sql/<name>.sql``
(one statement per file, a comment header saying what it does); :func:`sql_file` reads one,
and :meth:`WriteTx.run` / :meth:`Warehouse.query` execute it with named parameters
(``$name``) and Arrow tables registered under the names the SQL reads them by.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def sql_file(anchor: str, name: str) -> str:
    """The text of ``sql/<name>.sql`` in the folder of the module file ``anchor``
    (pass ``__file__``)."""
    path = Path(anchor).resolve().parent / "sql" / f"{name}.sql"
    return path.read_text()
