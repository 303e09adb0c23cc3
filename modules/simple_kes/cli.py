"""Command line: print a schedule, check a config file, or follow a file as it is edited."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Sequence

from .config import ConfigError, render_template
from .config_file import TEMPLATE_PATH, read_config, user_config_path
from .manager import ConfigManager, LoadResult
from .presets import preset_description, preset_paths, preset_values, with_preset
from .schedule import SD_SIGMA_MAX, SD_SIGMA_MIN
from .scheduler import sigmas_for_config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simple_kes", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    sigmas = commands.add_parser("sigmas", help="print the schedule for a step count")
    _schedule_options(sigmas)
    sigmas.add_argument("--config", type=Path, help="config file (default: the user's, else the shipped defaults)")
    sigmas.set_defaults(command=_sigmas_command)

    check = commands.add_parser("check", help="validate a config file; exit 1 with the problems if it is bad")
    check.add_argument("file", type=Path)
    check.set_defaults(command=_check_command)

    watch = commands.add_parser("watch", help="print the schedule again each time the file changes")
    watch.add_argument("file", type=Path, nargs="?", help="config file (default: the user's)")
    _schedule_options(watch)
    watch.set_defaults(command=_watch_command)

    plot = commands.add_parser("plot", help="draw the schedule against Karras and Exponential as a PNG")
    _schedule_options(plot)
    plot.add_argument("--config", type=Path, help="config file (default: the user's, else the shipped defaults)")
    plot.add_argument("--out", type=Path, required=True, help="the PNG file to write")
    plot.set_defaults(command=_plot_command)

    lab = commands.add_parser("lab", help="serve the tuning page on 127.0.0.1 (sliders, live chart, Save)")
    lab.add_argument("file", type=Path, nargs="?", help="config file (default: the user's, created if missing)")
    lab.add_argument("--port", type=int, default=7870, help="port on 127.0.0.1 (default 7870)")
    lab.set_defaults(command=_lab_command)

    preset = commands.add_parser("preset", help="list the presets, or write one into a config file")
    preset.add_argument("name", nargs="?", help="the preset to apply (omit to list them)")
    preset.add_argument("--config", type=Path, help="config file to write (default: the user's)")
    preset.set_defaults(command=_preset_command)

    template = commands.add_parser("template", help="print the default config file")
    template.set_defaults(command=lambda args: print(render_template(), end="") or 0)
    return parser


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=20, help="number of sampling steps n (default 20)")
    parser.add_argument("--sigma-min", type=float, default=SD_SIGMA_MIN,
                        help=f"the model's lowest sigma (default {SD_SIGMA_MIN}, SD 1.x/SDXL)")
    parser.add_argument("--sigma-max", type=float, default=SD_SIGMA_MAX,
                        help=f"the model's highest sigma (default {SD_SIGMA_MAX}, SD 1.x/SDXL)")
    parser.add_argument("--seed", type=int, help="seed for randomized parameters")
    parser.add_argument("--json", action="store_true", help="print only a JSON list of the n + 1 sigmas")
    parser.add_argument("--preset", help="use a named preset's schedule values (configs/presets/NAME.yaml)")


def _read_chosen_config(args: argparse.Namespace):
    """(config, path) for --config, else the user's file, else the shipped defaults; errors printed."""
    path = args.config or user_config_path()
    if args.config is None and not path.exists():
        path = TEMPLATE_PATH
    try:
        config = read_config(path)
        return (with_preset(config, args.preset) if getattr(args, "preset", None) else config), path
    except FileNotFoundError:
        print(f"{path}: no such file", file=sys.stderr)
    except (ConfigError, KeyError) as error:
        print(error.args[0] if isinstance(error, KeyError) else error, file=sys.stderr)
    return None, path


def _sigmas_command(args: argparse.Namespace) -> int:
    config, path = _read_chosen_config(args)
    if config is None:
        return 1
    return _print_schedule(args, config, path)


def _plot_command(args: argparse.Namespace) -> int:
    from .plot import compare, save_png
    config, path = _read_chosen_config(args)
    if config is None:
        return 1
    comparison = compare(config, args.steps, args.sigma_min, args.sigma_max, seed=args.seed)
    if comparison.error:
        print(f"{path}: {comparison.error}", file=sys.stderr)
        return 1
    save_png(comparison, str(args.out))
    print(f"wrote {args.out}")
    return 0


def _lab_command(args: argparse.Namespace) -> int:
    from .lab import serve
    manager = ConfigManager(args.file or user_config_path(), create=args.file is None)
    if args.file is not None and not manager.path.exists():
        print(f"{manager.path}: no such file", file=sys.stderr)
        return 1
    print(f"Karras Exponential lab on http://127.0.0.1:{args.port}/ editing {manager.path}; Ctrl+C stops it",
          flush=True)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        serve(manager, args.port)
    except KeyboardInterrupt:
        pass
    return 0


def _print_schedule(args: argparse.Namespace, config, path: Path) -> int:
    try:
        sigmas, record = sigmas_for_config(args.steps, args.sigma_min, args.sigma_max, config, seed=args.seed)
    except ValueError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    values = [round(float(sigma), 8) for sigma in sigmas]
    if args.json:
        print(json.dumps(values), flush=True)
        return 0
    source = f"preset {args.preset} (randomization from {path})" if getattr(args, "preset", None) else f"config {path}"
    header = (f"Karras Exponential, {args.steps} steps, sigma range {record.sigma_min:g} to {record.sigma_max:g}, "
              f"{source}")
    if record.draw.values:
        drawn = ", ".join(f"{name}={value:g}" for name, value in record.draw.values.items())
        header += f"\nrandomized with seed {record.draw.seed}: {drawn}"
    lines = [f"{step:4d}  {sigma:.6g}" for step, sigma in enumerate(values)]
    print("\n".join([header, *lines]), flush=True)
    return 0


def _preset_command(args: argparse.Namespace) -> int:
    if not args.name:
        for name, path in preset_paths().items():
            print(f"{name}\t{preset_description(name)}\t{path}")
        return 0
    manager = ConfigManager(args.config or user_config_path(), create=args.config is None)
    try:
        manager.save(preset_values(args.name))
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return 1
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"applied preset {args.name} to {manager.path}")
    return 0


def _raise_keyboard_interrupt(*_signal_details) -> None:
    raise KeyboardInterrupt


def _check_command(args: argparse.Namespace) -> int:
    try:
        config = read_config(args.file)
    except FileNotFoundError:
        print(f"{args.file}: no such file", file=sys.stderr)
        return 1
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    for notice in config.notices():
        print(f"{args.file}: note: {notice}")
    print(f"{args.file}: OK")
    return 0


def _watch_command(args: argparse.Namespace) -> int:
    path = args.file or user_config_path()
    if args.file is not None and not path.exists():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    manager = ConfigManager(path, create=args.file is None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # stop like Ctrl+C, without locks in a handler

    def show(result: LoadResult) -> None:
        if result.error:
            print(result.error, file=sys.stderr, flush=True)
        else:
            _print_schedule(args, result.config, manager.path)

    manager.subscribe(show)
    manager.start()  # the first load reaches show() too
    print(f"watching {manager.path}; press Ctrl+C to stop", file=sys.stderr, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        manager.stop()
    return 0
