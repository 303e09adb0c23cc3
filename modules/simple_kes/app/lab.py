"""The standalone lab page: the tuning panel served on 127.0.0.1, following the YAML as it is edited.

How the page follows the file: a small script in the page asks ``/kes/version`` once a second for
the manager's version (a counter bumped by every load that changes what the page shows). Only when
it differs from the version the page shows (the status line's ``data-kes-version``) does the script
press a hidden button whose event brings the file's values. A poll that finds nothing new touches no
Gradio component, so nothing on the page moves. When the server stops answering, the same script
shows a banner saying the values may be stale, and clears it when the server answers again.

Gradio's ``every=`` is not used for this: Gradio 3.41 runs it as one endless generator per page,
which keeps every output in the "generating" state (an orange outline, pulsing; its animation
overrides the opacity that ``show_progress="hidden"`` sets), passes every poll the inputs of the
moment the page loaded, and holds a connection open that the server waits for when it stops.
"""

from __future__ import annotations

import gc
import inspect
import json
import logging
import threading
import time
import uuid

from .manager import ConfigManager
from .panel import build_panel

# How often the page asks whether the file changed; an edit shows within about this long plus the
# 50 ms reload debounce.
POLL_SECONDS = 1.0
TITLE = "Karras Exponential lab"
VERSION_PATH = "/kes/version"
FOLLOW_BUTTON_ID = "kes_follow"
BANNER_ID = "kes_disconnected"
BANNER_TEXT = "Disconnected from the lab server: the values shown may be stale. Retrying every second."
# Hidden by our own rule rather than visible=False, whose rendering differs between Gradio versions:
# the page's script must find the button in the document to press it.
CSS = ".kes-hidden { display: none !important; }"

# Runs once in the page when it loads (Gradio's load event with a JavaScript function and no Python).
# ``window.kesWatch`` lets the browser test count polls instead of sleeping.
WATCH_SCRIPT = """
() => {
  if (window.kesWatch) return [];
  const watch = window.kesWatch = {polls: 0, failures: 0, follows: 0, connected: true, server: null};
  const banner = document.createElement("div");
  banner.id = BANNER_ID;
  banner.setAttribute("role", "alert");
  banner.hidden = true;
  banner.textContent = BANNER_TEXT;
  banner.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:10000;padding:12px 16px;" +
    "background:#b42318;color:#fff;font:600 15px/1.4 sans-serif;text-align:center;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.3)";
  document.body.appendChild(banner);
  let requested = null, requestedAt = 0;
  const shownVersion = () => {
    const status = document.querySelector("[data-kes-version]");
    return status ? Number(status.dataset.kesVersion) : null;
  };
  const follow = (version) => {
    const button = document.getElementById(FOLLOW_BUTTON_ID);
    if (!button) return;
    requested = version; requestedAt = watch.polls; watch.follows += 1;
    button.click();
  };
  const poll = async () => {
    try {
      const response = await fetch(VERSION_PATH, {cache: "no-store"});
      if (!response.ok) throw new Error("HTTP " + response.status);
      const {version, server} = await response.json();
      const restarted = watch.server !== null && server !== watch.server;
      watch.server = server; watch.connected = true; banner.hidden = true;
      // A follow that got lost (its event failed) is asked again after a few polls.
      const stale = version !== shownVersion() && (version !== requested || watch.polls - requestedAt >= 5);
      if (restarted || stale) follow(version);
    } catch (error) {
      watch.connected = false; watch.failures += 1; banner.hidden = false;
    }
    watch.polls += 1;
    setTimeout(poll, POLL_MS);
  };
  poll();
  return [];
}
"""


def watch_script() -> str:
    """WATCH_SCRIPT with this module's constants written in."""
    constants = {"BANNER_ID": BANNER_ID, "BANNER_TEXT": BANNER_TEXT, "FOLLOW_BUTTON_ID": FOLLOW_BUTTON_ID,
                 "VERSION_PATH": VERSION_PATH, "POLL_MS": round(POLL_SECONDS * 1000)}
    script = WATCH_SCRIPT
    for name, value in constants.items():
        script = script.replace(name, json.dumps(value))
    return script


def create_lab(manager: ConfigManager):
    """The page as a Gradio Blocks app (not launched)."""
    import gradio as gr
    with gr.Blocks(title=TITLE, analytics_enabled=False, css=CSS) as demo:
        gr.Markdown(f"# {TITLE}\nTune the schedule and watch the sigmas; **Save** writes the YAML, and edits "
                    "made to the YAML in an editor show here within a second or two.")
        panel = build_panel(manager, elem_prefix="kes")
        follow = gr.Button("Show the file's new values", elem_id=FOLLOW_BUTTON_ID, elem_classes="kes-hidden")

        def follow_file(*chart_settings):
            return panel.follow_file(manager, *chart_settings)

        follow.click(follow_file, inputs=panel.chart_inputs, outputs=panel.file_outputs(), show_progress="hidden")
        _on_page_load(demo, watch_script())
    return demo


def _on_page_load(demo, script: str) -> None:
    """Run ``script`` in the page when it loads: Gradio 3.x calls the argument ``_js``, 4.x ``js``."""
    keyword = "js" if "js" in inspect.signature(demo.load).parameters else "_js"
    demo.load(None, None, None, **{keyword: script})


def create_app(manager: ConfigManager):
    """The page mounted in a FastAPI app of ours, beside the version route its script polls."""
    import gradio as gr
    from fastapi import FastAPI

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    # Tells a page that outlived a server from one that still talks to it: a restarted server starts
    # counting versions again, so the page follows the file whatever the numbers say.
    server = uuid.uuid4().hex

    @app.get(VERSION_PATH)
    def file_version() -> dict:
        return {"version": manager.version, "server": server}

    return gr.mount_gradio_app(app, create_lab(manager).queue(), path="")


# How long a stop waits for requests in flight before dropping them, and then for the drop.
STOP_GRACE_SECONDS = 0.5
SIGNAL_CHECK_SECONDS = 0.25
STARTUP_CHECK_SECONDS = 0.02


def serve(manager: ConfigManager, port: int) -> None:
    """Watch the file and serve the page on 127.0.0.1 until interrupted (KeyboardInterrupt)."""
    import uvicorn

    manager.start()
    server = None
    stopped = threading.Event()
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(manager), host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=_run, args=(server, stopped), name="simple_kes-lab-server", daemon=True).start()
        while not server.started:  # uvicorn has no "started" event to wait on
            if stopped.is_set():
                raise OSError(f"the lab server could not start on 127.0.0.1:{port}")
            time.sleep(STARTUP_CHECK_SECONDS)
        print(f"Running on local URL:  http://127.0.0.1:{port}", flush=True)
        # Until Ctrl+C or SIGTERM raise KeyboardInterrupt here, in short sleeps. Not the thread's
        # join(): one that a KeyboardInterrupt breaks leaves the thread marked as finished (seen with
        # Python 3.11), and the stop below could not wait for it. Not stopped.wait(): an interrupt that
        # lands inside the Event's own Python code can leave its lock held, and the stop below, which
        # waits on the same Event, would then hang. A sleep holds no lock and wakes for the signal.
        while not stopped.is_set():
            time.sleep(SIGNAL_CHECK_SECONDS)
    finally:
        if server is not None:
            _stop(server, stopped)
        manager.stop()
        # The process ends next: spare the interpreter's final garbage collections over the millions
        # of objects torch, k-diffusion and gradio made (1.5 to 3 s measured on a 2-core machine).
        gc.freeze()


def _run(server, stopped: threading.Event) -> None:
    try:
        server.run()
    finally:
        stopped.set()


def _stop(server, stopped: threading.Event) -> None:
    """Stop within about a second: idle connections close at once, a request in flight gets a moment."""
    server.should_exit = True
    if stopped.wait(STOP_GRACE_SECONDS):
        return
    # A connection still open (a page's event stream): stop waiting for it. Its cancelled tasks and
    # the skipped shutdown hooks would log tracebacks that are expected now, so uvicorn stays quiet.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    server.force_exit = True
    stopped.wait(STOP_GRACE_SECONDS)  # a daemon thread: if it is still busy, leaving the process ends it
