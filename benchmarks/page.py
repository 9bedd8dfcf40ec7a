"""The campaign page in headless Chromium on 127.0.0.1: from choosing a 12 MP photo to its
preview shown, and from "Download" to the file saved (median of 5 each); the page's weight.

    python -m benchmarks.page

Needs the test extra (Playwright) and a Chromium (tests/web/conftest.py says which).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, Response, sync_playwright

from benchmarks.web import free_port

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "blueheart" / "web" / "static"
PHOTO = Path("/work/shared/photos/camera/phone-12mp-p01.jpg")
CHROMIUM = "/usr/lib/chromium/chromium-headless-shell"
RUNS = 5
PAGE_FILES = (".html", ".css", ".js", ".svg")
CROPS = {"circle": "circle crop (1080 px PNG)", "none": "no crop (4032x3024 JPEG)"}


def wait_for(page: Page, state: str) -> None:
    page.wait_for_selector(f"body[data-state={state}]", timeout=60_000)


def one_run(page: Page, url: str, crop: str) -> tuple[float, float]:
    page.goto(url)
    wait_for(page, "empty")
    page.get_by_test_id("crop").locator(f"input[value={crop}]").check()
    started = time.perf_counter()
    page.get_by_test_id("photo").set_input_files(PHOTO)
    wait_for(page, "ready")
    previewed = time.perf_counter() - started
    started = time.perf_counter()
    with page.expect_download() as waiting:
        page.get_by_test_id("download").click()
    waiting.value.path()  # saved
    return previewed, time.perf_counter() - started


def main() -> None:
    weight = sum(p.stat().st_size for p in STATIC.rglob("*") if p.suffix in PAGE_FILES)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "blueheart", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page()
            transferred: list[int] = []

            def count(answer: Response) -> None:
                transferred.append(int(answer.headers.get("content-length", 0)))

            page.on("response", count)
            page.goto(f"http://127.0.0.1:{port}/")
            wait_for(page, "empty")
            page.remove_listener("response", count)
            first_load = sum(transferred)
            url = f"http://127.0.0.1:{port}/"
            one_run(page, url, "circle")  # warm-up
            runs = {crop: [one_run(page, url, crop) for _ in range(RUNS)] for crop in CROPS}
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"page weight (HTML+CSS+JS+SVG): {weight / 1000:.1f} KB; first load, all responses: "
          f"{first_load / 1000:.1f} KB")  # fmt: skip
    for crop, label in CROPS.items():
        previews, downloads = zip(*runs[crop], strict=True)
        print(f"{PHOTO.name}, {label}:")
        for name, times in (
            ("choose -> preview shown", previews),
            ("Download -> file saved", downloads),
        ):
            each = ", ".join(f"{t * 1000:.0f}" for t in times)
            print(f"  {name}: median {statistics.median(times) * 1000:.0f} ms ({each})")


if __name__ == "__main__":
    main()
