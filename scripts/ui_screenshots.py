"""Screenshots of the Dagster UI for the README: the asset graph, one asset page, the marts.

    .venv/bin/python scripts/ui_screenshots.py [--url http://127.0.0.1:3000] [--out docs/screenshots]

Drives a headless Chromium through Playwright when both are installed (``pip install
playwright``, then ``playwright install chromium``, or a system ``chromium`` /
``google-chrome`` on the PATH). Without them it says what is missing and exits 0 with
nothing written: screenshots are documentation, not a build step.

The UI at ``--url`` is used when it answers (``make dev``); otherwise the script starts
``dagster-webserver`` on the workspace over data/ (after ``make demo``) and stops it after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

#: (file name, path under the UI's URL, what the page shows)
PAGES = (
    ("asset-graph.png", "/asset-groups", "the global asset graph (lineage)"),
    ("asset-uplynk_assets.png", "/assets/raw/uplynk_assets", "one asset: raw/uplynk_assets"),
    ("marts.png", "/locations/video_catalog/asset-groups/marts/list", "the marts group"),
    ("mart-assets_expiring_soon.png", "/assets/marts/assets_expiring_soon", "one mart's page"),
    ("catalog.png", "/assets", "the asset catalog"),
)


def skip(reason: str) -> int:
    print(f"ui_screenshots: skipped, {reason}", file=sys.stderr)
    return 0


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/server_info", timeout=2).is_success
    except httpx.HTTPError:
        return False


def start_webserver(url: str) -> subprocess.Popen:
    """``dagster-webserver`` on the workspace over data/ at ``url``'s port."""
    port = url.rsplit(":", 1)[-1].strip("/")
    env = dict(os.environ)
    env.setdefault("CONNECTOR_WAREHOUSE", str(ROOT / "data" / "warehouse.duckdb"))
    env.setdefault("CONNECTOR_LAKE", str(ROOT / "data" / "lake"))
    env.setdefault("DAGSTER_HOME", str(ROOT / "data" / "dagster_home"))
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-p", port],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"dagster-webserver did not come up at {url}")
        time.sleep(0.5)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def launch(playwright):
    """Playwright's own Chromium, else a system one; None when neither starts."""
    try:
        return playwright.chromium.launch(headless=True)
    except Exception as exc:  # its browser was never downloaded
        first = str(exc).splitlines()[0]
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            try:
                return playwright.chromium.launch(headless=True, executable_path=exe)
            except Exception as exc:
                first = f"{exe}: {str(exc).splitlines()[0]}"
    print(f"ui_screenshots: no Chromium starts ({first})", file=sys.stderr)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000", help="the Dagster UI")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    url = args.url.rstrip("/")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return skip(
            "Playwright is not installed (`.venv/bin/pip install playwright` and "
            "`.venv/bin/playwright install chromium`, or a system chromium on the PATH)"
        )
    out = Path(args.out)
    server = None if answers(url) else start_webserver(url)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            if browser is None:
                return skip("no headless Chromium is installed")
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            out.mkdir(parents=True, exist_ok=True)
            for name, path, what in PAGES:
                page.goto(url + path, wait_until="networkidle", timeout=60_000)
                skip_button = page.get_by_role("button", name="Skip")  # a first-visit dialog
                if skip_button.count():
                    skip_button.first.click()
                page.wait_for_timeout(3000)  # the graph lays itself out after the data arrives
                page.screenshot(path=str(out / name), full_page=False)
                print(f"{out / name}: {what}")
            browser.close()
    finally:
        if server is not None:
            stop(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
