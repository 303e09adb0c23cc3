"""Command line: print, check, watch, plot or tune a schedule; apply a preset; print the template.

Only argparse and the config reader load at start, so ``--help``, argument errors and ``check`` of a
broken file answer at once: torch and k-diffusion are imported when a schedule is computed,
watchdog when a file is watched, matplotlib when a PNG is drawn and gradio when the lab starts.
Every error is one message naming the flag or file, the key, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..config import ConfigError
from ..parameters import SD_SIGMA_MAX, SD_SIGMA_MIN
from ..schedule_catalogue import SCHEDULE_NAMES
from .config_file import TEMPLATE, read_config, render_template, user_config_path
from .presets import preset_description, preset_paths, preset_values, with_preset

PROGRAM = "python -m simple_kes"
MAX_STEPS = 10_000
DEFAULT_PORT = 7870
# How often a long-running command's main thread wakes while it waits: CPython runs signal handlers
# between bytecodes, so a SIGTERM landing just before the thread blocks would otherwise go unnoticed
# until another signal came.
SIGNAL_CHECK_SECONDS = 0.25


class CommandError(Exception):
    """A problem to print as one line on stderr (exit status 1), never as a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.command(args)
    except CommandError as error:
        print(error, file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader stopped early (``sigmas | head``): nothing to report. Later writes, and the
        # flush at exit that would print a traceback, go to the null device instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    sigmas = commands.add_parser("sigmas", help="print the schedule for a step count")
    _config_option(sigmas)
    _schedule_options(sigmas)
    sigmas.add_argument("--json", action="store_true", help="print only a JSON list of the n + 1 sigmas")
    sigmas.set_defaults(command=_sigmas_command)

    check = commands.add_parser("check", help="validate a config file; exit 1 with every problem if it is bad",
                                usage=f"{PROGRAM} check --config FILE")
    _config_option(check, required=True)
    check.set_defaults(command=_check_command)

    watch = commands.add_parser("watch", help="print the schedule again each time the config file is saved")
    _config_option(watch, default_help="the user's")
    _schedule_options(watch)
    watch.add_argument("--json", action="store_true", help="print only a JSON list of the sigmas each time")
    watch.set_defaults(command=_watch_command)

    plot = commands.add_parser("plot", help="draw the schedule against the two it blends (Karras and Exponential "
                                            "by default) as a PNG")
    _config_option(plot)
    _schedule_options(plot)
    plot.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="the PNG file to write")
    plot.add_argument("--compare-with", choices=SCHEDULE_NAMES, metavar="SCHEDULE",
                      help=f"also draw this schedule of the guides: {', '.join(SCHEDULE_NAMES)}")
    plot.set_defaults(command=_plot_command)

    lab = commands.add_parser("lab", help="serve the tuning page on 127.0.0.1 (sliders, live chart, Save)")
    _config_option(lab, default_help="the user's, created from the defaults if missing")
    lab.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    lab.set_defaults(command=_lab_command)

    preset = commands.add_parser("preset", help="list the presets, or write one's schedule values into a config file")
    preset.add_argument("name", nargs="?", help="the preset to apply (omit to list them)")
    _config_option(preset, default_help="the user's")
    preset.set_defaults(command=_preset_command)

    template = commands.add_parser("template", help="print the default config file")
    template.set_defaults(command=lambda args: print(render_template(), end="") or 0)
    return parser


def _config_option(parser: argparse.ArgumentParser, *, required: bool = False,
                   default_help: str = "the user's, else the shipped defaults") -> None:
    """``--config FILE``, the one way every command takes a config file.

    The positional form that ``check``, ``watch`` and ``lab`` once took still works, with a notice.
    """
    help_text = "the config file" + ("" if required else f" (default: {default_help})")
    parser.add_argument("--config", type=Path, metavar="FILE", help=help_text)
    parser.add_argument("legacy_config", type=Path, nargs="?", metavar="FILE", help=argparse.SUPPRESS)
    parser.set_defaults(config_required=required, usage_name=parser.prog)


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=_steps, default=20, help="number of sampling steps (default 20)")
    parser.add_argument("--sigma-min", type=_model_sigma, default=SD_SIGMA_MIN,
                        help=f"the model's lowest sigma (default {SD_SIGMA_MIN}, SD 1.x/SDXL)")
    parser.add_argument("--sigma-max", type=_model_sigma, default=SD_SIGMA_MAX,
                        help=f"the model's highest sigma (default {SD_SIGMA_MAX}, SD 1.x/SDXL)")
    parser.add_argument("--seed", type=int, help="seed for randomized parameters")
    parser.add_argument("--preset", metavar="NAME", help="use a named preset's schedule values (writes nothing)")


# --- flag values: argparse names the flag in its message ---------------------------------------------

def _number_flag(kind: type, low: float, high: float):
    """An argparse ``type`` that accepts a ``kind`` number from ``low`` to ``high`` and says so if not."""
    allowed = f"{low:g} to {high:g}"
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}; allowed: {allowed}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: {allowed}")
        return value

    return parse


_steps = _number_flag(int, 1, MAX_STEPS)
# Every diffusion model's sigma range lies well inside this; a value outside it is a typo, and would
# only fail later with a message about the schedule's keys instead of the flag.
_model_sigma = _number_flag(float, 1e-5, 1e5)
_port = _number_flag(int, 1, 65535)


# --- the config a command works on --------------------------------------------------------------------

def _given_config_path(args: argparse.Namespace) -> Path | None:
    """The file named by ``--config`` (or, with a notice, by the old positional form)."""
    if args.legacy_config is not None:
        if args.config is not None:
            raise CommandError(f"give the config file once: --config {args.config} or {args.legacy_config}")
        print(f"note: use --config {args.legacy_config}; a config file without --config is the old form",
              file=sys.stderr)
        return args.legacy_config
    if args.config is None and args.config_required:
        raise CommandError(f"{args.usage_name}: which config file? Give --config FILE")
    return args.config


def _config_manager(args: argparse.Namespace):
    """The manager of the file watch, lab and preset work on: the one given, which must exist, else
    the user's (created from the defaults when first loaded).

    A folder is refused here: watch and lab would otherwise start on it, and preset fail as it writes.
    """
    from .manager import ConfigManager

    given = _given_config_path(args)
    path = given or user_config_path()
    if path.is_dir():
        raise CommandError(f"{path}: is a folder, not a config file")
    if given is not None and not given.exists():
        raise CommandError(f"{given}: no such file")
    return ConfigManager(path, create=given is None)


def _read(path: Path) -> Any:
    """The validated config in ``path``; any problem becomes one CommandError naming the file."""
    try:
        return read_config(path)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except ConfigError as error:
        raise CommandError(str(error)) from None


def _chosen_config(args: argparse.Namespace) -> tuple[Any, str]:
    """(config with any --preset applied, what it came from) for sigmas and plot."""
    path = _given_config_path(args)
    if path is None:
        path = user_config_path()
        if not path.exists():
            path = TEMPLATE
    config = _read(path)
    return _with_preset(config, args.preset), _describe_source(path, args.preset)


def _with_preset(config: Any, name: str | None) -> Any:
    if not name:
        return config
    try:
        return with_preset(config, name)
    except KeyError as error:
        raise CommandError(f"--preset {name}: {error.args[0]}") from None
    except ConfigError as error:
        raise CommandError(f"--preset {name}: {error}") from None


def _describe_source(path: Any, preset: str | None) -> str:
    if preset:
        return f"preset {preset} (randomization from {path})"
    return f"config {path}"


def _model_range(args: argparse.Namespace, config: Any, source: str) -> tuple[float, float]:
    """The sigma range the schedule is made over, refused with the flag or key that sets each end."""
    low, high = config.sigma_range(args.sigma_min, args.sigma_max)
    if low < high:
        return low, high
    low_from = f"sigma_min {low:g} of {source}" if config.sigma_min is not None else f"--sigma-min {low:g}"
    high_from = f"sigma_max {high:g} of {source}" if config.sigma_max is not None else f"--sigma-max {high:g}"
    raise CommandError(f"{low_from} must be below {high_from}")


def _schedule(args: argparse.Namespace, config: Any, source: str):
    """(sigmas, record) for the flags; a config that gives no valid schedule is one CommandError."""
    low, high = _model_range(args, config, source)
    from ..generation import sigmas_for_config  # torch and k-diffusion load here, not at start

    try:
        return sigmas_for_config(args.steps, low, high, config, seed=args.seed)
    except (ValueError, ConfigError) as error:
        raise CommandError(f"--steps {args.steps} with {source}: {error}") from None


# --- commands -----------------------------------------------------------------------------------------

def _sigmas_command(args: argparse.Namespace) -> int:
    config, source = _chosen_config(args)
    print(_schedule_text(args, config, source), flush=True)
    return 0


def _schedule_text(args: argparse.Namespace, config: Any, source: str) -> str:
    sigmas, record = _schedule(args, config, source)
    values = [round(float(sigma), 8) for sigma in sigmas]
    if args.json:
        return json.dumps(values)
    header = (f"Karras Exponential, {args.steps} steps, sigma range {record.sigma_min:g} to {record.sigma_max:g}, "
              f"{source}")
    if record.draw.values:
        drawn = ", ".join(f"{name}={value:g}" for name, value in record.draw.values.items())
        header += f"\nrandomized with seed {record.draw.seed}: {drawn}"
    return "\n".join([header, *(f"{step:4d}  {sigma:.6g}" for step, sigma in enumerate(values))])


def _check_command(args: argparse.Namespace) -> int:
    path = _given_config_path(args)
    config = _read(path)
    for notice in config.notices():
        print(f"{path}: note: {notice}")
    print(f"{path}: OK")
    return 0


def _plot_command(args: argparse.Namespace) -> int:
    out = args.out
    if out.is_dir():
        raise CommandError(f"--out {out}: is a folder; give a file name such as {out / 'schedule.png'}")
    if not out.parent.is_dir():
        raise CommandError(f"--out {out}: the folder {out.parent} does not exist")
    _require("matplotlib", "plot")
    config, source = _chosen_config(args)
    _model_range(args, config, source)  # an empty range is refused naming the flag or the key
    from .chart import compare
    from .plot import save_png

    # The references over the model's range (the flags), KES with the config's overrides of it.
    comparison = compare(config, args.steps, args.sigma_min, args.sigma_max, seed=args.seed,
                         compare_with=args.compare_with)
    if comparison.error:
        raise CommandError(f"--steps {args.steps} with {source}: {comparison.error}")
    try:
        save_png(comparison, str(out))
    except OSError as error:
        raise CommandError(f"--out {out}: cannot be written ({error.strerror or error})") from None
    print(f"wrote {out}")
    return 0


def _watch_command(args: argparse.Namespace) -> int:
    manager = _config_manager(args)
    if args.preset and args.preset not in preset_paths():
        raise CommandError(f"--preset {args.preset}: no preset of that name; presets: {', '.join(preset_paths())}")
    source = _describe_source(manager.path, args.preset)

    def show(result) -> None:
        if result.error:
            print(result.error, file=sys.stderr, flush=True)
            return
        try:
            print(_schedule_text(args, _with_preset(result.config, args.preset), source), flush=True)
        except CommandError as error:
            print(error, file=sys.stderr, flush=True)

    manager.subscribe(show)
    with _stopped_by_signals():
        try:
            manager.start()  # the first load reaches show() too
            print(f"watching {manager.path}; press Ctrl+C to stop", file=sys.stderr, flush=True)
            _wait_until_interrupted()
        except KeyboardInterrupt:
            pass
        finally:
            manager.stop()
    return 0


def _lab_command(args: argparse.Namespace) -> int:
    manager = _config_manager(args)
    _require("gradio", "lab")
    _check_port_free(args.port)
    from .lab import serve

    print(f"Karras Exponential lab on http://127.0.0.1:{args.port}/ editing {manager.path}; Ctrl+C stops it",
          flush=True)
    with _stopped_by_signals():
        try:
            serve(manager, args.port)
        except KeyboardInterrupt:
            pass
        except OSError as error:  # the port was taken between the check and the server's bind
            raise CommandError(f"--port {args.port}: {error}; choose another with --port") from None
    return 0


def _require(module: str, extra: str) -> None:
    """Refuse a command whose optional dependency is missing, saying how to get it."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise CommandError(f"{extra} needs {module}, which is not installed: pip install "
                           f"'sd-webui-karras-exponential[{extra}]' (or pip install {module})")


def _check_port_free(port: int) -> None:
    """Refuse a port in use now, before gradio spends seconds starting and then fails on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server's own bind does (asyncio sets SO_REUSEADDR on POSIX): a port that the last
        # lab's connections left in TIME_WAIT is free to it, and must not be called in use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise CommandError(f"--port {port}: 127.0.0.1:{port} is in use; choose another with --port") from None


def _preset_command(args: argparse.Namespace) -> int:
    if not args.name:
        for name, path in preset_paths().items():
            print(f"{name}\t{preset_description(name)}\t{path}")
        return 0
    manager = _config_manager(args)
    if manager.path.exists():
        _read(manager.path)  # a file that is not UTF-8 or not valid is refused in one line, not overwritten
    try:
        manager.save(preset_values(args.name))
    except KeyError as error:
        raise CommandError(error.args[0]) from None
    except ConfigError as error:
        raise CommandError(str(error)) from None
    print(f"applied preset {args.name} to {manager.path}")
    return 0


def _wait_until_interrupted() -> None:
    """Block until Ctrl+C or SIGTERM raises KeyboardInterrupt here (a sleep wakes for the signal and,
    unlike a wait on a threading primitive, holds no lock that the interrupt could leave taken)."""
    while True:
        time.sleep(SIGNAL_CHECK_SECONDS)


@contextlib.contextmanager
def _stopped_by_signals():
    """SIGTERM stops a long-running command the way Ctrl+C does (a KeyboardInterrupt in the main thread)."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_keyboard_interrupt(*_signal_details) -> None:
    raise KeyboardInterrupt
