"""CONNECTOR_WAREHOUSE and the variables it needs: which backend, and clear errors for what
cannot work (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector import secrets
from connector.config import MissingConfigError
from connector.warehouse import WarehouseConfigError, backend_from
from connector.warehouse.backends import DuckDBFile, DuckLake

PG = "ducklake:postgres:dbname=lake host=db.internal port=5432 user=connector"
S3 = {
    "CONNECTOR_LAKE_DATA_PATH": "s3://bucket/wh",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-for-config-test",
}


def test_a_path_is_a_duckdb_file(tmp_path):
    backend = backend_from(tmp_path / "w.duckdb", {})
    assert backend == DuckDBFile(tmp_path / "w.duckdb") and backend.exclusive


def test_a_local_catalog_keeps_its_data_beside_it(tmp_path):
    backend = backend_from(f"ducklake:{tmp_path / 'c.ducklake'}", {})
    assert isinstance(backend, DuckLake) and backend.exclusive
    assert backend.data_path == f"{tmp_path / 'c.ducklake.files'}/"
    other = backend_from(f"ducklake:{tmp_path / 'c.ducklake'}", {"CONNECTOR_LAKE_DATA_PATH": "d"})
    assert other.data_path == f"{Path('d').absolute()}/"


def test_postgres_catalog_with_s3_data_reads_every_setting():
    env = {
        **S3,
        "PGPASSWORD": "pg-secret-for-config-test",
        "CONNECTOR_S3_ENDPOINT": "http://minio:9000",
    }
    backend = backend_from(PG, env)
    assert isinstance(backend, DuckLake) and not backend.exclusive and backend.path is None
    assert backend.data_path == "s3://bucket/wh/"
    assert backend.pg_password == "pg-secret-for-config-test"
    s3 = backend.s3
    assert (s3.endpoint, s3.use_ssl, s3.url_style, s3.region) == (
        "minio:9000",
        False,
        "path",
        "us-east-1",
    )
    shown = repr(backend) + backend.location
    assert "pg-secret" not in shown and "aws-secret" not in shown
    # registered with the one scrubber: masked wherever they would be logged
    assert "pg-secret-for-config-test" not in secrets.scrub(
        "connect failed: pg-secret-for-config-test"
    )
    assert "aws-secret-for-config-test" not in secrets.scrub("x aws-secret-for-config-test")


@pytest.mark.parametrize(
    ("spec", "env", "error", "words"),
    [
        (PG + " password=hunter22", S3, WarehouseConfigError, "CONNECTOR_PG_PASSWORD"),
        ("ducklake:postgres:host=x", S3, WarehouseConfigError, "dbname"),
        (PG, {}, MissingConfigError, "CONNECTOR_LAKE_DATA_PATH"),
        (PG, {"CONNECTOR_LAKE_DATA_PATH": "s3://b/p"}, MissingConfigError, "AWS_SECRET_ACCESS_KEY"),
        (PG, {**S3, "CONNECTOR_LAKE_DATA_PATH": "gs://b/p"}, WarehouseConfigError, "s3://"),
        (PG, {**S3, "CONNECTOR_S3_URL_STYLE": "virtual"}, WarehouseConfigError, "path or vhost"),
        ("ducklake:", {}, WarehouseConfigError, "catalog"),
    ],
)
def test_what_cannot_work_is_refused_with_its_reason(spec, env, error, words):
    with pytest.raises(error, match=words) as caught:
        backend_from(spec, env)
    assert "hunter22" not in str(caught.value)
