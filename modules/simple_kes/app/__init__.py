"""The app layer over the core: config files, hot reload, presets, the command line and the pages.

Frontends (the WebUI script, later the ComfyUI nodes) are thin glue over the core and this layer.
Each module imports its heavy dependencies (torch, gradio, matplotlib) only where it needs them.
"""
