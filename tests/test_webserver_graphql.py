"""Checked from outside: `dagster-webserver` on the workspace (`workspace.yaml`) over a small
demo warehouse, asked through its GraphQL API what a user sees in the UI: every asset with
its group, description, kinds, checks, column schema (the data dictionary's columns and
comments) and automation condition, the row count of a materialization, the named code
location, and the descriptions of jobs and schedules. Expected values come from what
assets_defs declares and the data dictionary (connector/warehouse/dictionary.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.demo_warehouse import shared_demo_warehouse

ROOT = Path(__file__).resolve().parent.parent
MART = "marts/catalog_coverage"

ASSETS = """
query {
  assetNodes {
    assetKey { path }
    groupName
    description
    kinds
    assetChecksOrError { ... on AssetChecks { checks { name } } }
    automationCondition { label }
    metadataEntries {
      label
      ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
    }
    assetMaterializations(limit: 1) {
      runId
      metadataEntries { label ... on IntMetadataEntry { intValue } }
    }
  }
}
"""

REPOSITORIES = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        location { name }
        jobs { name description }
        schedules { name description }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(sandbox, tmp_path_factory):
    """(GraphQL URL, warehouse): a mart materialized with the CLI, then the webserver."""
    wh = shared_demo_warehouse(sandbox, tmp_path_factory)
    home = tmp_path_factory.mktemp("dagster_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "DAGSTER_"))}
    env.update(
        CONNECTOR_WAREHOUSE=str(wh.path), CONNECTOR_LAKE=str(wh.lake_root), DAGSTER_HOME=str(home)
    )
    mat = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "assets_defs",
         "--select", MART],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert mat.returncode == 0, mat.stdout[-3000:] + mat.stderr[-3000:]
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "dagster-webserver exited"
            try:
                if httpx.get(f"{url}/server_info", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not answer in 90 s"
            time.sleep(0.5)
        yield f"{url}/graphql", wh
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def graphql(url: str, query: str) -> dict:
    r = httpx.post(url, json={"query": query}, timeout=120)
    r.raise_for_status()
    body = r.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def declared() -> tuple[dict, dict]:
    """(asset key -> AssetSpec, asset key -> check names) as assets_defs declares them."""
    from assets_defs import defs

    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    checks: dict[str, set[str]] = {k: set() for k in specs}
    for ck in defs.resolve_asset_graph().asset_check_keys:
        checks[ck.asset_key.to_user_string()].add(ck.name)
    return specs, checks


def test_the_ui_shows_every_declared_asset_with_group_checks_schema_and_automation(webserver):
    url, wh = webserver
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(url, ASSETS)["assetNodes"]}
    specs, checks = declared()
    assert set(nodes) == set(specs)

    from connector.warehouse.dictionary import columns

    dictionary = columns()
    with_schema = 0
    for key, spec in specs.items():
        node = nodes[key]
        assert node["groupName"] == spec.group_name, key
        assert node["description"] and node["description"] == spec.description, key
        assert set(node["kinds"]) == set(spec.kinds) and node["kinds"], key
        assert {c["name"] for c in node["assetChecksOrError"]["checks"]} == checks[key], key
        want_auto = spec.automation_condition.get_label() if spec.automation_condition else None
        got_auto = node["automationCondition"]["label"] if node["automationCondition"] else None
        assert got_auto == want_auto, key
        table = key.replace("/", ".")
        if table in dictionary:  # a table of the migrations: its columns and their comments
            schema = next(
                m["schema"]
                for m in node["metadataEntries"]
                if m["label"] == "dagster/column_schema"
            )
            want = [(c.name, c.type, c.doc or None) for c in dictionary[table].values()]
            got = [(c["name"], c["type"], c["description"]) for c in schema["columns"]]
            assert got == want, f"{key}: the UI's column schema is not the data dictionary's"
            with_schema += 1
    assert with_schema >= 12, "fewer raw tables with a column schema than the four sources have"
    assert {s.group_name for s in specs.values()} >= {"uplynk", "ibm", "valt", "iris", "marts"}
    assert any(s.automation_condition for s in specs.values()), "no asset updates itself"

    mats = nodes[MART]["assetMaterializations"]
    assert mats, f"{MART} shows no materialization"
    entries = {m["label"]: m for m in mats[0]["metadataEntries"]}
    count = wh.query(f"SELECT count(*) FROM {MART.replace('/', '.')}")[0][0]
    assert count > 0 and entries["dagster/row_count"]["intValue"] == count
    assert "dagster/column_schema" in entries


def test_the_ui_names_the_code_location_and_describes_jobs_and_schedules(webserver):
    url, _ = webserver
    repos = graphql(url, REPOSITORIES)["repositoriesOrError"]["nodes"]
    assert [r["location"]["name"] for r in repos] == ["video_catalog"]
    jobs = {j["name"]: j["description"] for j in repos[0]["jobs"] if not j["name"].startswith("__")}
    schedules = {s["name"]: s["description"] for s in repos[0]["schedules"]}
    assert {"uplynk_sync_job", "ibm_sync_job", "protect_expiring_videos"} <= set(jobs)
    assert len(schedules) >= 4
    assert all(jobs.values()), f"jobs without a description: {jobs}"
    assert all(schedules.values()), f"schedules without a description: {schedules}"
