"""Reading and writing YAML config files, and the template they start from.

Reading uses PyYAML's safe loader only, so a tag that would build Python objects is an error, never
code. Writing is atomic (a temporary file in the same folder, then ``os.replace``) and changes only
the characters of the values it writes, so the user's comments, layout and key order survive. The
shipped template
and presets are package data (``simple_kes/data/``), found through ``importlib.resources``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..config import ConfigError, Problem
from ..parameters import BY_NAME, MAIN_PARAMETERS, RANDOM_KEYS, Parameter
from ..validation import validate

# The package's shipped files; a Traversable (a plain Path for any installed or checked-out package).
PACKAGE_DATA = resources.files("simple_kes") / "data"
TEMPLATE = PACKAGE_DATA / "defaults.yaml"
USER_CONFIG_NAME = "simple_kes.yaml"
CONFIG_PATH_VARIABLE = "SIMPLE_KES_CONFIG"
# The extension checkout (WebUI extensions/ folder, or a git clone) keeps the user's files in its
# configs/ folder; an installed package has no such folder and uses the user's config directory.
CHECKOUT_ROOT = Path(__file__).resolve().parents[3]
CHECKOUT_CONFIG_DIR = CHECKOUT_ROOT / "configs"
# libyaml's loader when PyYAML was built with it (the usual wheels are); same safe rules, much faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_checkout() -> bool:
    """Whether this package runs from the extension's own folder (not an installed copy)."""
    return (CHECKOUT_ROOT / "modules" / "simple_kes").is_dir() and CHECKOUT_CONFIG_DIR.is_dir()


def user_config_dir() -> Path:
    """Where the user's config and own presets live when $SIMPLE_KES_CONFIG does not say."""
    if is_checkout():
        return CHECKOUT_CONFIG_DIR
    base = os.environ.get("APPDATA") if os.name == "nt" else os.environ.get("XDG_CONFIG_HOME")
    return Path(base or Path.home() / ".config") / "karras-exponential"


def user_config_path() -> Path:
    """The user's working config: $SIMPLE_KES_CONFIG, else simple_kes.yaml in ``user_config_dir``."""
    return Path(os.environ.get(CONFIG_PATH_VARIABLE) or user_config_dir() / USER_CONFIG_NAME)


def template_text() -> str:
    """The shipped default config file."""
    return TEMPLATE.read_text(encoding="utf-8")


def ensure_user_config(path: Path) -> bool:
    """Create the user's file from the shipped template if it is missing; True if it was created.

    The template is package data that is never edited, so extension updates never clash with the
    user's edits.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, template_text())
    return True


def parse_config_text(text: str, source: str, base: Any = None) -> Any:
    """Parse and validate YAML text; raises ConfigError naming ``source``, the key and its line."""
    if not text.strip():
        raise ConfigError([Problem(None, "the file is empty")], source)
    try:
        node, mapping = _safe_parse(text)
    except yaml.YAMLError as error:
        raise ConfigError([_yaml_error_problem(error, text)], source) from None
    lines, duplicates = _key_lines(node)
    if not isinstance(mapping, dict):
        kind = "empty" if mapping is None else f"a {type(mapping).__name__}, not key: value pairs"
        raise ConfigError([Problem(None, f"the file is {kind}")], source)
    try:
        config = validate(mapping, base, source=source, lines=lines)
    except ConfigError as error:
        raise ConfigError(duplicates + list(error.problems)).with_source(source, lines) from None
    if duplicates:
        raise ConfigError(duplicates).with_source(source, lines)
    return config


def _safe_parse(text: str) -> tuple[Any, Any]:
    """The node tree (for line numbers) and the plain data, from one safe parse."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _yaml_error_problem(error: yaml.YAMLError, text: str) -> Problem:
    """A YAML syntax error at the line where the user went wrong, naming the key written there.

    The scanner notices some mistakes only further on: a key without its colon when the next line's
    colon arrives, an unclosed bracket at the end of the file. Those are traced back to their line.
    """
    lines = text.splitlines()
    problem = getattr(error, "problem", None) or str(error)
    if "constructor for the tag" in problem:
        message = f"{problem}; only plain values are allowed (no !!python or other tags)"
    else:
        message = f"not valid YAML: {problem}"
    problem_mark = getattr(error, "problem_mark", None)
    if problem_mark is None:
        return Problem(None, message)
    line, column = problem_mark.line, problem_mark.column
    context, context_mark = getattr(error, "context", None) or "", getattr(error, "context_mark", None)
    missing_colon = _first_line_without_colon(lines, line)
    if missing_colon is not None:
        line, column = missing_colon, len(lines[missing_colon].rstrip())
        message = "not valid YAML: no ':' after the key (write key: value)"
    elif context_mark is not None and context.startswith(STARTED_AT_CONTEXT):
        line, column = context_mark.line, context_mark.column
    while line > 0 and (line >= len(lines) or not lines[line].strip()):
        line -= 1
        column = len(lines[line])
    key = re.split(r"[:\s#]", lines[line].strip(), maxsplit=1)[0] if lines else ""
    return Problem(key if key in BY_NAME else None, f"column {column + 1}: {message}", line + 1)


# Mistakes PyYAML reports where it gave up but which began where its context mark points: a key
# without its colon, and an unclosed bracket or quote.
STARTED_AT_CONTEXT = ("while scanning a simple key", "while parsing a flow", "while scanning a quoted scalar")


# Lines that start a flow collection, close one, or quote: none of them is a "key: value" line.
FLOW_OR_QUOTE = ("-", "{", "[", "]", "}", "'", '"')


def _first_line_without_colon(lines: list[str], upto: int) -> int | None:
    """The first top-level line before ``upto`` that has text but no colon (``sharpness 0.9``)."""
    for number, line in enumerate(lines[:upto + 1]):
        content = line.split("#", 1)[0].rstrip()
        starts_a_key = content and not line[0].isspace() and not content.startswith(FLOW_OR_QUOTE)
        if starts_a_key and ":" not in content:
            return number
    return None


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
    """Read and validate a config file; raises ConfigError, or FileNotFoundError for a missing one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError([Problem(None, f"is not UTF-8 text ({error.reason})")], str(path)) from None
    except IsADirectoryError:
        raise ConfigError([Problem(None, "is a folder, not a config file")], str(path)) from None
    except FileNotFoundError:
        raise
    except OSError as error:
        raise ConfigError([Problem(None, f"cannot be read ({error.strerror or error})")], str(path)) from None
    return parse_config_text(text, str(path), base)


def save_config(path: Path, values: Mapping[str, Any]) -> Any:
    """Write ``values`` into the file, keeping its comments and key order; returns the new config.

    Nothing is written unless the result validates. A file that does not parse is refused rather
    than overwritten, so an edit in progress is never lost.
    """
    ensure_user_config(path)
    original = path.read_text(encoding="utf-8")
    current = parse_config_text(original, str(path))
    new_config = validate(dict(values), current, source=str(path))
    edited = _edited_text(original, {key: getattr(new_config, key) for key in values})
    try:
        written = parse_config_text(edited, str(path))
    except ConfigError:
        written = None
    if written != new_config:  # a layout the in-place edit cannot handle (a flow-style {...} file, say)
        raise ConfigError([Problem(None, "cannot write into this file's layout; put one key: value per line")],
                          str(path))
    _atomic_write(path, edited)
    return new_config


def _edited_text(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with each key's value replaced where it is written, and missing keys appended.

    Only the characters of the values change: comments, blank lines, quoting and key order stay byte
    for byte. PyYAML's node marks say where each value is written.
    """
    node, _ = _safe_parse(text)
    written = {key_node.value: (key_node, value_node) for key_node, value_node in node.value}
    edits = []
    for key, (key_node, value_node) in written.items():
        if key not in values:
            continue
        start, end = value_node.start_mark.index, value_node.end_mark.index
        if start == end:  # "key:" with nothing after it: the value goes right after the colon
            start = end = text.index(":", key_node.end_mark.index) + 1
            edits.append((start, end, " " + yaml_value(values[key])))
        else:
            edits.append((start, end, yaml_value(values[key])))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    missing = [key for key in values if key not in written]
    if missing and not text.endswith("\n"):
        text += "\n"
    return text + "".join(f"{key}: {yaml_value(values[key])}  {_template_comment(key)}\n" for key in missing)


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


# --- the template: every key with its default and a one-line comment, from the declaration ------------

def render_template() -> str:
    """The default YAML file (package data ``defaults.yaml`` is this text; a test keeps them equal)."""
    lines = [
        "# Karras Exponential (Simple KES) settings.",
        "# The WebUI reloads this file when you save it; a broken edit keeps the last good values.",
        "# Each line: key: default  # allowed values; suggested range. What it does.",
        "",
    ]
    lines += [template_line(p) for p in MAIN_PARAMETERS]
    lines += [
        "",
        "# Randomization: with randomize: true, each <name>_rand: true draws <name> uniformly",
        "# from [<name>_rand_min, <name>_rand_max], seeded by the image seed and written to the infotext.",
    ]
    lines += [template_line(p) for p in RANDOM_KEYS]
    return "\n".join(lines) + "\n"


def template_line(parameter: Parameter) -> str:
    comment = f"allowed: {parameter.describe_limits()}"
    if parameter.suggested:
        comment += f"; suggested {yaml_value(parameter.suggested[0])}-{yaml_value(parameter.suggested[1])}"
    return f"{parameter.name}: {yaml_value(parameter.default)}  # {comment}. {parameter.help}"


def yaml_value(value: Any) -> str:
    """A value as YAML that PyYAML reads back as the same value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.isidentifier() and yaml.safe_load(value) == value:
        return value  # a plain word (a choice) reads back as itself
    text = repr(value)
    mantissa, exponent_mark, exponent = text.partition("e")
    if isinstance(value, float) and exponent_mark and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"  # YAML 1.1 reads 1e-05 as a string, 1.0e-05 as a float
    return text
