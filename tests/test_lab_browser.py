"""End to end in headless Chromium: the standalone lab page, its chart, Save, following the file, the
banner when the server is gone, how fast the server stops, and the README's screenshot.

Drives Debian's /usr/bin/chromium through Playwright (its own browser download is not available).
CI installs chromium (``.ci/setup --browser``); elsewhere the test is skipped when it is missing.
``pytest tests/test_lab_browser.py --update-screenshot`` rewrites docs/images/lab.png.
"""

from __future__ import annotations

import dataclasses
import io
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simple_kes.app.config_file import read_config, template_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 90.0  # importing torch and k-diffusion, then gradio, on a busy 2-core machine
UI_TIMEOUT_MS = 15_000
# Ctrl+C or SIGTERM with a page open must end the process within this; it is generous for a loaded
# machine (the stop measured on an idle one is about half a second), so a slow stop fails, not a busy CI.
STOP_BOUND_SECONDS = 5.0
VIEWPORT = {"width": 1280, "height": 900}  # also the README screenshot's size
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "lab.png"

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError("CI must install chromium (bash .ci/setup --browser) for the browser test")
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The template at the user's default location under a home folder of its own, so that the page
    names it as a user sees it (``~/.config/karras-exponential/simple_kes.yaml``, as in the screenshot)."""
    path = tmp_path / "home" / ".config" / "karras-exponential" / "simple_kes.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(template_text(), encoding="utf-8")
    return path


@dataclasses.dataclass
class Lab:
    """``python -m simple_kes lab`` running as a real server on 127.0.0.1."""

    url: str
    process: subprocess.Popen
    stdout: queue.Queue
    stderr: list[str]
    readers: list[threading.Thread]

    def stop(self, signal_number: int) -> None:
        """Signal the server; it must exit 0 within STOP_BOUND_SECONDS and print no traceback."""
        self.process.send_signal(signal_number)
        try:
            code = self.process.wait(timeout=STOP_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            for reader in self.readers:
                reader.join(timeout=10)
            pytest.fail(f"still running {STOP_BOUND_SECONDS} s after the signal; its stderr:\n{''.join(self.stderr)}")
        assert code == 0
        for reader in self.readers:
            reader.join(timeout=10)
        errors = "".join(self.stderr)
        assert "Traceback" not in errors and "Task exception" not in errors, errors


def as_in_a_terminal() -> None:
    """Ctrl+C reaches a program run in a terminal. A test run started in the background (as CI may
    start it) ignores SIGINT, and its children inherit that, so the lab gets SIGINT's default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def lab(config_path: Path):
    """The lab on the file ``config_path``; stopped by SIGTERM at the end (with the same checks as Ctrl+C)."""
    port = free_port()
    environment = {**os.environ, "HOME": str(config_path.parents[2]), "PYTHONWARNINGS": "ignore",
                   "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "-m", "simple_kes", "lab", "--config", str(config_path),
                                "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                               preexec_fn=as_in_a_terminal)
    running = Lab(f"http://127.0.0.1:{port}", process, queue.Queue(), [], [])
    running.readers = [threading.Thread(target=lambda: [running.stdout.put(line) for line in process.stdout]),
                       threading.Thread(target=lambda: running.stderr.extend(process.stderr))]
    for reader in running.readers:
        reader.start()
    try:
        while True:  # wait for the server's "Running on" line rather than sleeping
            line = running.stdout.get(timeout=STARTUP_TIMEOUT)
            if "Running on local URL" in line:
                break
        yield running
        if process.poll() is None:
            running.stop(signal.SIGTERM)  # the lab stops on SIGTERM as on Ctrl+C
    finally:
        process.kill()
        process.wait()
        for reader in running.readers:
            reader.join(timeout=10)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture
def page(lab):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.set_default_timeout(UI_TIMEOUT_MS)
            tab.goto(lab.url)
            tab.wait_for_selector("#kes_chart svg polyline.curve-kes")
            tab.wait_for_function("() => window.kesWatch && window.kesWatch.polls >= 1 && window.kesWatch.connected")
            yield tab
        finally:
            browser.close()


def kes_curve(page) -> str:
    return page.locator("#kes_chart polyline.curve-kes").get_attribute("points")


def wait_for_new_curve(page, before: str) -> str:
    page.wait_for_function(
        "(before) => { const line = document.querySelector('#kes_chart polyline.curve-kes');"
        " return line && line.getAttribute('points') !== before; }", arg=before)
    return kes_curve(page)


def control(page, key: str):
    return page.locator(f"#kes_kes_{key} input[type=number]")


def set_control(page, key: str, value: str) -> None:
    control(page, key).fill(value)
    control(page, key).press("Enter")


def wait_for_polls(page, count: int) -> None:
    """Wait until the page's watch has asked the server ``count`` more times (no sleeping)."""
    start = page.evaluate("() => window.kesWatch.polls")
    page.wait_for_function("(end) => window.kesWatch.polls >= end", arg=start + count)


# Records every class that Gradio's progress display gives an element: "pending" while an event runs,
# "generating" (the orange pulsing outline) while a generator does.
RECORD_PROGRESS_CLASSES = """() => {
  window.kesProgress = [];
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      const classes = mutation.target.classList;
      if (classes && (classes.contains("pending") || classes.contains("generating"))) {
        const owner = mutation.target.closest("[id]");
        window.kesProgress.push((owner ? owner.id : "?") + ": " + mutation.target.getAttribute("class"));
      }
    }
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["class"]});
}"""


def test_slider_redraws_save_writes_the_yaml_and_the_page_follows_the_file(page, config_path):
    """Move a slider, see the chart change, save it, then edit the YAML and see the page follow."""
    comments = [line for line in config_path.read_text().splitlines() if line.startswith("#")]
    assert page.locator("#kes_chart line.model-range").count() == 2

    first = kes_curve(page)
    set_control(page, "sharpness", "0.8")
    second = wait_for_new_curve(page, first)
    assert read_config(config_path).sharpness == 0.95, "nothing is saved before Save"

    page.locator("#kes_save").click()
    page.wait_for_function("() => [...document.querySelectorAll('#kes_save_result')]"
                           ".some(element => element.innerText.includes('Saved sharpness'))")
    text = config_path.read_text()
    assert re.search(r"^sharpness: 0.8 +# allowed: a number > 0", text, re.M)
    assert all(comment in text for comment in comments)

    config_path.write_text(text.replace("start_blend: 0.1 ", "start_blend: 0.3 "))
    page.wait_for_function("() => document.querySelector('#kes_kes_start_blend input[type=number]').value === '0.3'")
    wait_for_new_curve(page, second)


def test_a_broken_edit_shows_the_error_while_the_last_good_values_stay(page, config_path):
    config_path.write_text(config_path.read_text().replace("end_blend: 0.5 ", "end_blend: [oops "))
    page.wait_for_function("() => document.querySelector('#kes_status').innerText.includes('has an error')")
    assert "not valid YAML" in page.locator("#kes_status").last.inner_text()
    assert control(page, "end_blend").input_value() == "0.5"


def test_polls_that_find_no_change_leave_the_page_still(page, config_path):
    """The page asks the server once a second whether the file changed. While it has not, no component
    shows Gradio's progress state (the outline that made the page flicker every second) and an unsaved
    edit stays; the recorder that proves it does see the update a real file change brings."""
    before = kes_curve(page)
    set_control(page, "sharpness", "0.8")
    wait_for_new_curve(page, before)
    page.evaluate(RECORD_PROGRESS_CLASSES)

    wait_for_polls(page, 4)
    assert page.evaluate("() => window.kesProgress") == []
    assert page.locator(".pending, .generating").count() == 0
    assert page.evaluate("() => window.kesWatch.follows") == 0, "no poll asked for the file's values"
    assert control(page, "sharpness").input_value() == "0.8", "a poll must not undo an unsaved edit"

    config_path.write_text(config_path.read_text().replace("start_blend: 0.1 ", "start_blend: 0.3 "))
    page.wait_for_function("() => document.querySelector('#kes_kes_start_blend input[type=number]').value === '0.3'")
    assert any(entry.startswith("kes_chart") for entry in page.evaluate("() => window.kesProgress"))


def test_the_first_screen_shows_the_whole_chart_and_no_retired_key(page, tmp_path, request):
    """The chart spans the page's width and fits the first screen; the retired early_stopping_threshold
    has no control. The screenshot is taken every run and becomes the README's with --update-screenshot."""
    chart = page.locator("#kes_chart svg").bounding_box()
    column = page.locator("#kes_status").first.bounding_box()
    assert chart["width"] >= 0.98 * column["width"], (chart, column)
    assert chart["y"] + chart["height"] <= VIEWPORT["height"], "the whole chart is in the first screen"
    assert page.locator("#kes_kes_early_stopping_threshold").count() == 0
    assert "early_stopping_threshold" not in page.locator("body").inner_text()

    shot = tmp_path / "lab.png"
    page.screenshot(path=str(shot))
    assert png_size(shot.read_bytes()) == (VIEWPORT["width"], VIEWPORT["height"])
    assert distinct_colours(shot) > 50, "a rendered page, not a blank one"
    if request.config.getoption("--update-screenshot"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(optimized_png(shot))


def test_the_page_says_when_it_loses_the_server_and_ctrl_c_stops_it_at_once(lab, page):
    """A poll that fails shows the "disconnected" banner and the next good one clears it; Ctrl+C with
    the page open ends the server within the bound and without a traceback, and the banner appears."""
    banner = page.locator("#kes_disconnected")
    assert banner.is_hidden()
    page.route("**/kes/version", lambda route: route.abort())
    banner.wait_for(state="visible")
    page.unroute("**/kes/version")
    banner.wait_for(state="hidden")

    lab.stop(signal.SIGINT)
    banner.wait_for(state="visible")
    assert "Disconnected from the lab server: the values shown may be stale" in banner.inner_text()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def distinct_colours(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def optimized_png(path: Path) -> bytes:
    """The screenshot in a 256-colour palette: a page of flat colours and text loses nothing visible
    and the file shrinks several times."""
    from PIL import Image

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()
