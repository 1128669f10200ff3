"""What a person reads when a run fails: one screen, no traceback.

The kit attaches to the exception a summary of the run (what failed, why, what was kept);
:func:`describe_failure` turns any exception into that text, for the command line and for
Dagster's run failure alike. The exception keeps its type, so callers can still catch it.
"""

from __future__ import annotations

from typing import Any

from connector.http import default_redactor

_ATTR = "sync_summary"


def _kept(report: Any) -> str:
    if report.cursor_after is None and report.cursor_before is None:
        cursor = "no cursor (the next run starts over)"
    elif report.cursor_after != report.cursor_before:
        cursor = f"cursor advanced to {report.cursor_after}"
    else:
        cursor = "cursor unchanged"
    return (
        f"{cursor}; {report.checkpoints} checkpoint(s) committed before the error "
        f"({report.inserted} rows inserted, {report.updated} updated, {report.deleted} "
        f"deleted, {report.rejected} rejected)"
    )


def attach_summary(error: Exception, stream: str, report: Any, message: str) -> None:
    """Attach the run's one-screen summary to ``error`` (idempotent)."""
    if getattr(error, _ATTR, None) is None:
        summary = f"{stream} sync failed: {message}\nkept: {_kept(report)}"
        setattr(error, _ATTR, summary)


def describe_failure(error: BaseException) -> str:
    """The one-screen text for ``error``: the run summary when a sync attached one, else
    the redacted exception message."""
    summary = getattr(error, _ATTR, None)
    if summary:
        return str(summary)
    return default_redactor().redact(f"{type(error).__name__}: {error}")
