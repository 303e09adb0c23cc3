"""The standalone lab page: the tuning panel served on 127.0.0.1, following the YAML as it is edited."""

from __future__ import annotations

import threading

from .manager import ConfigManager
from .panel import build_panel

# How often the page asks whether the file changed; an edit shows within about this long plus the
# 50 ms reload debounce.
POLL_SECONDS = 1.0
TITLE = "Karras Exponential lab"


def create_lab(manager: ConfigManager):
    """The page as a Gradio Blocks app (not launched)."""
    import gradio as gr
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\nTune the schedule and watch the sigmas; **Save** writes the YAML, and edits "
                    "made to the YAML in an editor show here within a second or two.")
        panel = build_panel(manager, elem_prefix="kes")
        demo.load(lambda version, steps, low, high: panel.follow_file(manager, version, steps, low, high),
                  inputs=[panel.seen_version, panel.steps, panel.model_sigma_min, panel.model_sigma_max],
                  outputs=panel.poll_outputs(), every=POLL_SECONDS, show_progress="hidden")
    return demo


# Gradio's graceful close waits for open polls; a user who pressed Ctrl+C should not wait for them.
CLOSE_TIMEOUT_SECONDS = 3.0


def serve(manager: ConfigManager, port: int) -> None:
    """Watch the file and serve the page on 127.0.0.1 until interrupted (KeyboardInterrupt)."""
    manager.start()
    demo = create_lab(manager)
    try:
        demo.queue().launch(server_name="127.0.0.1", server_port=port, inbrowser=False, show_api=False,
                            quiet=True, prevent_thread_lock=True)
        threading.Event().wait()
    finally:
        closer = threading.Thread(target=demo.close, name="simple_kes-lab-close", daemon=True)
        closer.start()
        closer.join(CLOSE_TIMEOUT_SECONDS)  # the server thread is a daemon: exiting ends it anyway
        manager.stop()
