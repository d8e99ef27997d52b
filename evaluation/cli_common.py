"""What the ``hop-bench`` sub-commands share: the usage error, option parsers, path checks.

Every sub-command module (:mod:`evaluation.cli`, :mod:`evaluation.train_cli`, ...) imports
this one and none imports another, so the command line has no import cycle:
``cli_common`` <- ``train_cli`` <- ``cli``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROG = "hop-bench"

#: How ``KEY=VALUE`` options read their value, for help texts.
KEY_VALUE_HELP = (
    'VALUE is read as JSON when it parses (3, 0.5, true, null, [1, 2], "text"); None also '
    "means null (e.g. weights=None); anything else is text"
)


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as JSON when it parses (``3``, ``true``, ``[1,2]``,
    ``null``); the text ``None`` is Python's None too; anything else stays text."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    if raw.strip() == "None":
        return key, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``low``; the one wording every command uses,
    ``expected an integer >= 1, got 'x'``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def check_db_path(path: Path, option: str = "--db") -> None:
    """``UsageError`` (one line) unless ``path`` can hold a result database: it must not be
    a folder, and every part of it that exists above it must be a folder (``results.txt/x``
    under a regular file ``results.txt`` is refused here rather than failing in ``mkdir``)."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a database file path")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(
                    f"{option} {path}: {parent} is a file, not a folder, so the database "
                    "cannot be created under it"
                )
            break
