"""IRIS.TV assets: id resolution + recommendations via Watch, source URLs and the refresh
ledger (one sync); media URL checks of Uplynk mp4_urls and stored IRIS URLs (the prober)."""

from datetime import timedelta

import dagster as dg

from assets_defs.catalog import table_key, table_metadata, table_spec
from assets_defs.iris.resources import IrisResource
from assets_defs.resources import WarehouseResource, run_or_fail
from connector.iris import SyncOptions, sync_iris
from connector.media import ProbeOptions, probe_media

GROUP = "iris"
RESOLUTIONS, RECOMMENDATIONS = "raw.iris_resolutions", "raw.iris_recommendations"
ASSETS, REFRESHES, CHECKS = (
    "raw.iris_assets",
    "raw.iris_source_url_refreshes",
    "raw.media_url_checks",
)
FRESH_WITHIN = timedelta(hours=3)  # the schedule runs hourly
RECS_ONLY_CHECK = "recs_only_always_true"


class IrisSyncConfig(dg.Config):
    full_refresh: bool = SyncOptions().full_refresh


def _spec(table: str, description: str, deps: tuple[str, ...] = ()) -> dg.AssetSpec:
    return table_spec(
        table,
        group=GROUP,
        kinds={"iris", "duckdb"},
        description=description,
        deps=deps,
        fresh_within=FRESH_WITHIN,
    )


@dg.multi_asset(
    name="iris_sync",
    specs=[
        _spec(
            RESOLUTIONS,
            "One row per Uplynk asset with an external_id: its IRIS id (Watch, "
            "recs_only=true) or default_recs.",
            ("raw.uplynk_assets",),
        ),
        _spec(
            RECOMMENDATIONS,
            "One row per recommendation of a seed's Watch snapshot; the "
            "latest snapshot is the one with the latest fetched_at.",
        ),
        _spec(
            ASSETS,
            "One row per IRIS id: data API fields, source URL (token removed) and its state.",
        ),
        _spec(
            REFRESHES,
            "The refresh ledger: one row per refresh decision (never for "
            "NOT_AVAILABLE; never again after a refresh came back expired).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            RECS_ONLY_CHECK,
            asset=table_key(RESOLUTIONS),
            description="every Watch/Next request of the run left with recs_only=true (a "
            "recs_only other than true counts as a real play in the vendor's analytics)",
        )
    ],
)
def iris_sync(
    context: dg.AssetExecutionContext,
    config: IrisSyncConfig,
    iris: IrisResource,
    warehouse: WarehouseResource,
):
    """Resolves new, changed and a rolling share of Uplynk assets with Watch, reads the data
    API for the IRIS ids, probes source URLs while their token is in hand, and refreshes
    expired ones under the vendor's rules."""
    report = run_or_fail(
        sync_iris,
        iris.settings(),
        warehouse.get(),
        SyncOptions(full_refresh=config.full_refresh),
        run_id=f"iris-{context.run.run_id[:8]}",
    )
    context.log.info(
        f"iris: {report.watched} watched ({report.resolved} resolved, {report.default_recs} "
        f"default_recs), {report.assets_checked} assets checked, refreshes {report.refresh_outcomes}"
    )
    common = {
        "requests": dg.MetadataValue.int(report.requests),
        "retries": dg.MetadataValue.int(report.retries),
        "elapsed_s": dg.MetadataValue.float(report.elapsed_s),
    }
    wh = warehouse.get()
    extra = {
        RESOLUTIONS: {"watched": dg.MetadataValue.int(report.watched)},
        RECOMMENDATIONS: {"rows_written": dg.MetadataValue.int(report.recommendations)},
        ASSETS: {
            "source_url_states": dg.MetadataValue.json(report.source_url_states),
            "media_url_checks_written": dg.MetadataValue.int(report.media_checks),
        },
        REFRESHES: {"outcomes": dg.MetadataValue.json(report.refresh_outcomes)},
    }
    for table, more in extra.items():
        yield dg.MaterializeResult(
            asset_key=table_key(table), metadata={**common, **table_metadata(wh, table), **more}
        )
    yield dg.AssetCheckResult(
        check_name=RECS_ONLY_CHECK,
        asset_key=table_key(RESOLUTIONS),
        passed=report.recs_only_not_true == 0,
        metadata={
            "watch_next_requests": dg.MetadataValue.int(report.personalization_calls),
            "recs_only_not_true": dg.MetadataValue.int(report.recs_only_not_true),
        },
    )


@dg.multi_asset(
    name="media_url_checks",
    specs=[
        table_spec(
            CHECKS,
            group=GROUP,
            kinds={"http", "duckdb"},
            description="One row per media URL check (Uplynk mp4_urls, stored IRIS source "
            "URLs): live, expired, gone, forbidden, timeout or error.",
            deps=("raw.uplynk_assets", ASSETS),
            fresh_within=FRESH_WITHIN,
        )
    ],
)
def media_url_checks(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """HEAD (falling back to a one-byte Range GET) on every media URL, bounded concurrency and
    a per-host limit; expiry read from the URL without a request."""
    report = run_or_fail(
        probe_media, warehouse.get(), ProbeOptions(), run_id=f"media-{context.run.run_id[:8]}"
    )
    return dg.MaterializeResult(
        asset_key=table_key(CHECKS),
        metadata={
            **table_metadata(warehouse.get(), CHECKS),
            "checked": dg.MetadataValue.json(report.checked),
            "probes_per_s": dg.MetadataValue.float(report.probes_per_s),
        },
    )
