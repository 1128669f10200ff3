"""archive_expiring_recordings: download the videos of VALT recordings whose retention ends
soon into the lake (dry run by default)."""

import dagster as dg

from assets_defs.resources import WarehouseResource, run_or_fail
from assets_defs.valt.resources import ValtResource
from connector.valt import ArchiveOptions, archive_valt

_DEFAULTS = ArchiveOptions()


class ArchiveConfig(dg.Config):
    """Run config of the archive job (defaults are ``connector.valt.ArchiveOptions``'s)."""

    dry_run: bool = _DEFAULTS.dry_run
    within_days: float = _DEFAULTS.within_days
    concurrency: int = _DEFAULTS.concurrency


@dg.op(out=dg.Out(dict))
def archive_expiring_recordings_op(
    context: dg.OpExecutionContext,
    config: ArchiveConfig,
    valt: ValtResource,
    warehouse: WarehouseResource,
):
    """Selects videos of recordings whose retention ends within ``within_days``; a real run
    streams each to the lake (resuming partial files, sha256 recorded in meta.valt_archive)."""
    options = ArchiveOptions(
        dry_run=config.dry_run, within_days=config.within_days, concurrency=config.concurrency
    )
    report = run_or_fail(
        archive_valt,
        valt.settings(),
        warehouse.get(),
        options,
        run_id=f"valt-archive-{context.run.run_id[:8]}",
    )
    context.log.info(
        f"valt archive ({'dry run' if report.dry_run else 'real run'}): {report.selected} "
        f"selected; results {report.results}; {report.bytes_downloaded} bytes"
    )
    yield dg.Output(
        report.as_dict(),
        metadata={
            "dry_run": report.dry_run,
            "selected": dg.MetadataValue.int(report.selected),
            "results": dg.MetadataValue.json(report.results),
            "bytes_downloaded": dg.MetadataValue.int(report.bytes_downloaded),
            "files": dg.MetadataValue.json(report.files[:200]),
        },
    )


@dg.job(
    description="Download the videos of VALT recordings whose retention ends soon into the "
    "lake, with a sha256 each. Dry run unless configured otherwise."
)
def archive_expiring_recordings():
    archive_expiring_recordings_op()
