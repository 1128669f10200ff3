"""The source kit: what every vendor source shares, so a source holds only its vendor
logic (client, normalize, and the walk that decides what to fetch).

* :class:`SyncRun` - the run scaffold: lake recovery, timing, run log, failure summary;
* :class:`Checkpointer` - ordered background commits of rows + state in one transaction;
* :class:`Batch`, :class:`TableSpec`, :func:`write_batch` - rows and rejects per checkpoint;
* :class:`SyncReport` - the common report fields;
* :func:`describe_failure` - the one-screen failure text for people;
* :func:`walk_beside` - a second walk fed by the first through a queue, run beside it.
"""

from connector.kit.batch import Batch, RowBuffer, TableSpec, write_batch
from connector.kit.beside import walk_beside
from connector.kit.checkpoint import Checkpointer
from connector.kit.failure import describe_failure
from connector.kit.report import SyncReport
from connector.kit.run import SyncRun

__all__ = [
    "Batch",
    "Checkpointer",
    "RowBuffer",
    "SyncReport",
    "SyncRun",
    "TableSpec",
    "describe_failure",
    "walk_beside",
    "write_batch",
]
