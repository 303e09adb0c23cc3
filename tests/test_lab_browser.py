"""End to end in headless Chromium: the standalone lab page, its chart, Save, and hot reload.

Drives Debian's /usr/bin/chromium through Playwright (its own browser download is not available).
CI installs chromium (``.ci/setup --browser``); elsewhere the test is skipped when it is missing.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import simple_kes
from simple_kes.app.config_file import read_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT = 90.0  # importing torch and k-diffusion, then gradio, on a busy 2-core machine
UI_TIMEOUT_MS = 15_000

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
def lab(config_path: Path):
    """``python -m simple_kes lab FILE`` as a real server on 127.0.0.1; yields its URL."""
    port = free_port()
    environment = {**os.environ, "PYTHONWARNINGS": "ignore", "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen([sys.executable, "-m", "simple_kes", "lab", str(config_path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        while True:  # wait for Gradio's own "Running on" line rather than sleeping
            line = lines.get(timeout=STARTUP_TIMEOUT)
            if "Running on local URL" in line:
                break
        yield url
    finally:
        process.terminate()  # the lab stops on SIGTERM as on Ctrl+C
        try:
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            reader.join(timeout=10)
            process.stdout.close()


@pytest.fixture
def page(lab):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1300, "height": 1400})
            tab.set_default_timeout(UI_TIMEOUT_MS)
            tab.goto(lab)
            tab.wait_for_selector("#kes_chart svg polyline.curve-kes")
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


def set_control(page, key: str, value: str) -> None:
    box = page.locator(f"#kes_kes_{key} input[type=number]")
    box.fill(value)
    box.press("Enter")


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
    assert page.locator("#kes_kes_end_blend input[type=number]").input_value() == "0.5"
