"""Screenshot of the review page of the demo call, for the docs (``docs/review.png``).

    python -m benchmarks.review_screenshot [--report out/demo/call.anon.report.json] [--png docs/review.png]

Builds the page with :func:`anonymizer.review.write_review` (running ``make demo`` first
only when the demo's report is missing) and photographs it in Debian's headless chromium
through its own chromedriver: Selenium never looks for, or downloads, a browser or driver.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def chrome(*, width: int = 1400, height: int = 1000, performance_log: bool = False) -> Any:
    """A headless Debian chromium driven by Debian's chromedriver; offline (no Selenium
    Manager download), no sandbox (tests run as root in containers)."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, if ever reached, must not download
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--hide-scrollbars", "--force-device-scale-factor=1",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    if performance_log:
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)


def screenshot(html: Path, png: Path, *, width: int = 1400, height: int = 1000, full_page: bool = True) -> None:
    driver = chrome(width=width, height=height)
    try:
        driver.get(html.resolve().as_uri())
        deadline = time.monotonic() + 20
        while driver.execute_script("return document.body.dataset.ready") != "1":
            if time.monotonic() > deadline:
                raise RuntimeError("review page did not finish drawing")
            time.sleep(0.1)
        if full_page:  # chromium photographs the window: grow it to the page (capped)
            total = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(int(total) + 20, 6000))
            time.sleep(0.3)
        png.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(png))
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, default=ROOT / "out" / "demo" / "call.anon.report.json")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "review.png")
    ap.add_argument("--window-only", action="store_true", help="Photograph the first 1400x1000 only.")
    args = ap.parse_args(argv)
    if not args.report.exists():
        subprocess.run(["make", "demo"], cwd=ROOT, check=True)
    from anonymizer.review import write_review

    with tempfile.TemporaryDirectory() as tmp:
        t = time.monotonic()
        html = write_review(args.report, Path(tmp) / "review.html")
        size = html.stat().st_size
        print(f"page: {size / 1e6:.2f} MB in {time.monotonic() - t:.1f} s")
        screenshot(html, args.png, full_page=not args.window_only)
    print(f"screenshot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
