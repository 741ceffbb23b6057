"""Read one YAML config file into plain Python data, reporting problems as :class:`ConfigIssue`.

PyYAML silently keeps the last of two equal keys, so a second ``gpt-4o:`` entry would replace the
first without a word. The file is therefore composed into a node tree first and every mapping is
checked for duplicate keys (with the key path and both line numbers) before it is constructed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from llm_gateway.errors import ConfigIssue


def read_yaml(path: Path, issues: list[ConfigIssue], digest: hashlib._Hash) -> Any | None:
    """The file's data, or ``None`` after appending the issue that prevented reading it.

    Duplicate keys are reported but do not prevent reading (the data then holds the last value),
    so that every other problem of the file is still found. The raw bytes feed ``digest``.
    """
    name = path.name
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        issues.append(ConfigIssue(name, "", f"file not found at {path}"))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(name, "", f"cannot read {path}: {exc.strerror}"))
        return None
    digest.update(name.encode() + b"\0" + text + b"\0")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        issues.append(ConfigIssue(name, _yaml_error_location(exc), _yaml_error_message(exc)))
        return None
    if root is not None:
        issues.extend(ConfigIssue(name, path_, msg) for path_, msg in duplicate_keys(root))
    return data


def duplicate_keys(node: yaml.Node, path: str = "") -> list[tuple[str, str]]:
    """``(key path, message)`` for every key that appears twice in the same mapping."""
    found: list[tuple[str, str]] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in first_line:
                found.append(
                    (child, f"duplicate key (line {line}; first at line {first_line[key]})")
                )
            else:
                first_line[key] = line
            found.extend(duplicate_keys(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(duplicate_keys(item, f"{path}[{index}]"))
    return found


def _yaml_error_location(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    return f"invalid YAML: {problem}"
