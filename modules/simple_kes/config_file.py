"""Reading and writing the YAML config file.

Reading uses PyYAML's safe loader only, so a tag that would build Python objects is an error, never
code. Writing is atomic (a temporary file in the same folder, then ``os.replace``) and goes through
ruamel.yaml's round-trip mode so the user's comments and key order survive.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Mapping

import yaml
from ruamel.yaml import YAML

from .config import ConfigError, Problem, config_from_mapping, render_template, template_line
from .parameters import BY_NAME
from .scheduler import schedule_problems

EXTENSION_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = EXTENSION_ROOT / "configs"
TEMPLATE_PATH = CONFIG_DIR / "simple_kes.defaults.yaml"
USER_CONFIG_NAME = "simple_kes.yaml"
# libyaml's loader when PyYAML was built with it (the usual wheels are); same safe rules, much faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONFIG_PATH_VARIABLE = "SIMPLE_KES_CONFIG"


def user_config_path() -> Path:
    """The user's working config: $SIMPLE_KES_CONFIG, else configs/simple_kes.yaml in the extension."""
    return Path(os.environ.get(CONFIG_PATH_VARIABLE) or CONFIG_DIR / USER_CONFIG_NAME)


def ensure_user_config(path: Path) -> bool:
    """Create the user's file from the shipped template if it is missing; True if it was created.

    The template is tracked by git and never edited, so extension updates through git never clash
    with the user's edits.
    """
    if path.exists():
        return False
    template = TEMPLATE_PATH.read_text(encoding="utf-8") if TEMPLATE_PATH.exists() else render_template()
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, template)
    return True


def parse_config_text(text: str, source: str, base: Any = None) -> Any:
    """Parse and validate YAML text; raises ConfigError naming ``source``, the key and its line."""
    if not text.strip():
        raise ConfigError([Problem(None, "the file is empty")], source)
    try:
        node, mapping = _safe_parse(text)
    except yaml.YAMLError as error:
        raise ConfigError([Problem(None, _describe_yaml_error(error))], source) from None
    lines, problems = _key_lines(node)
    try:
        config = config_from_mapping(mapping, base)
    except ConfigError as error:
        raise ConfigError(problems + list(error.problems)).with_source(source, lines) from None
    problems += schedule_problems(config)
    if problems:
        raise ConfigError(problems).with_source(source, lines)
    return config


def _safe_parse(text: str) -> tuple[Any, Any]:
    """The node tree (for line numbers) and the plain data, from one safe parse."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    if "constructor for the tag" in problem:
        return f"{where}{problem}; only plain values are allowed (no !!python or other tags)"
    return f"{where}not valid YAML: {problem}"


def _key_lines(node: Any) -> tuple[dict[str, int], list[Problem]]:
    """Line of each top-level key, and a problem for each key written twice."""
    lines: dict[str, int] = {}
    problems = []
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in lines:
                problems.append(Problem(key, f"appears twice (lines {lines[key]} and {line}); keep one", line))
            lines.setdefault(key, line)
    return lines, problems


def read_config(path: Path, base: Any = None) -> Any:
    """Read and validate a config file; raises ConfigError (or FileNotFoundError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError([Problem(None, f"is not UTF-8 text ({error.reason})")], str(path)) from None
    return parse_config_text(text, str(path), base)


def save_config(path: Path, values: Mapping[str, Any]) -> Any:
    """Write ``values`` into the file, keeping its comments and key order; returns the new config.

    Nothing is written unless the result validates. A file that does not parse is refused rather
    than overwritten, so an edit in progress is never lost.
    """
    ensure_user_config(path)
    original = path.read_text(encoding="utf-8")
    current = parse_config_text(original, str(path))
    new_config = current.with_values(dict(values))
    problems = schedule_problems(new_config)
    if problems:
        raise ConfigError(problems, str(path))
    document = _round_trip().load(original)
    for key in values:
        if key not in document:
            document[key] = None
            document.yaml_add_eol_comment(_template_comment(key), key)
        document[key] = getattr(new_config, key)
    buffer = io.StringIO()
    _round_trip().dump(document, buffer)
    _atomic_write(path, buffer.getvalue())
    return new_config


def _round_trip() -> YAML:
    round_trip = YAML(typ="rt")
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap the user's long comment lines
    round_trip.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return round_trip


def _template_comment(key: str) -> str:
    return "# " + template_line(BY_NAME[key]).split("  # ", 1)[1]


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and a rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # Mode 0666 less the umask, as for any new file (mkstemp would make it 0600).
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
