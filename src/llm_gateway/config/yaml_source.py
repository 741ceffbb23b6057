"""Read one YAML config file into plain Python data, reporting problems as :class:`ConfigIssue`.

PyYAML silently keeps the last of two equal keys, so a second ``gpt-4o:`` entry would replace the
first without a word. The file is therefore composed into a node tree first and every mapping is
checked for duplicate keys (with the key path and both line numbers) before it is constructed.

A config file is untrusted input to a process that serves traffic, so reading it is bounded:

- only a regular file is opened (``O_NONBLOCK``, then ``fstat``): a FIFO or a device is refused
  at once instead of blocking until someone writes to it;
- at most ``max_bytes`` are read (1 MiB by default: the shipped files are 10 KiB);
- the composed document may expand to at most :data:`MAX_EXPANDED_NODES` nodes, counted with
  every alias expanded (a 400-byte "billion laughs" file expands to billions of nodes, which the
  duplicate-key walk and validation would then visit one by one);
- an empty file is an error, never an empty configuration;
- a message never quotes the file: YAML errors give the line and column and the parser's
  complaint, not the snippet of the file PyYAML prints with them.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from llm_gateway.errors import ConfigIssue

DEFAULT_MAX_BYTES = 1024 * 1024
MAX_EXPANDED_NODES = 100_000


class ConfigFileRefused(Exception):
    """The file cannot be read as a config file; the message says why (no file content)."""


def read_yaml(
    path: Path,
    issues: list[ConfigIssue],
    digest: hashlib._Hash,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any | None:
    """The file's data, or ``None`` after appending the issue that prevented reading it.

    Duplicate keys are reported but do not prevent reading (the data then holds the last value),
    so that every other problem of the file is still found. The raw bytes feed ``digest``.
    """
    name = path.name
    try:
        text = read_regular_file(path, max_bytes)
    except FileNotFoundError:
        issues.append(ConfigIssue(name, "", f"file not found at {path}"))
        return None
    except ConfigFileRefused as exc:
        issues.append(ConfigIssue(name, "", str(exc)))
        return None
    except OSError as exc:
        issues.append(ConfigIssue(name, "", f"cannot read {path}: {exc.strerror}"))
        return None
    digest.update(name.encode() + b"\0" + text + b"\0")
    if not text.strip():
        issues.append(ConfigIssue(name, "", "the file is empty"))
        return None
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        issues.append(ConfigIssue(name, _yaml_error_location(exc), _yaml_error_message(exc)))
        return None
    except ConfigFileRefused as exc:
        issues.append(ConfigIssue(name, "", str(exc)))
        return None
    if root is None:
        issues.append(ConfigIssue(name, "", "the file holds no YAML document"))
        return None
    issues.extend(ConfigIssue(name, path_, msg) for path_, msg in duplicate_keys(root))
    return yaml.SafeLoader("").construct_document(root)


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; raises ConfigFileRefused for
    anything else (FIFO, device, directory, too large) without blocking, OSError when it cannot
    be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigFileRefused(f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise ConfigFileRefused(f"the file is larger than {max_bytes} bytes")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            text = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(text) > max_bytes:  # it grew while being read
        raise ConfigFileRefused(f"the file is larger than {max_bytes} bytes")
    return text


def _compose(text: bytes) -> yaml.Node | None:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is not None and expanded_size(root) > MAX_EXPANDED_NODES:
        raise ConfigFileRefused(
            f"the document expands to more than {MAX_EXPANDED_NODES} nodes through its "
            "aliases (an alias bomb?)"
        )
    return root


def expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has with every alias expanded, computed without expanding
    (each node's size once, by identity); stops counting past the limit."""
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack = [root]
    while stack:  # children before parents, each node once
        node = stack.pop()
        if id(node) in sizes:
            continue
        sizes[id(node)] = -1
        order.append(node)
        stack.extend(_children(node))
    for node in reversed(order):
        total = 1 + sum(sizes[id(child)] for child in _children(node))
        sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def duplicate_keys(node: yaml.Node, path: str = "") -> list[tuple[str, str]]:
    """``(key path, message)`` for every key that appears twice in the same mapping."""
    found: list[tuple[str, str]] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _short(str(key_node.value))
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


def _short(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"


def _yaml_error_location(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    # Never str(exc): PyYAML appends a snippet of the file to it.
    problem = getattr(exc, "problem", None)
    return f"invalid YAML: {problem or type(exc).__name__}"
