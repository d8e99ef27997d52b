"""What the ``hop-bench`` sub-commands share: the usage error, option parsers, path checks.

Every sub-command module (:mod:`evaluation.cli`, :mod:`evaluation.train_cli`, ...) imports
this one and none imports another, so the command line has no import cycle:
``cli_common`` <- ``train_cli`` <- ``cli``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
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


def add_key_values(p: argparse.ArgumentParser, flag: str, what: str) -> None:
    """A repeatable ``flag KEY=VALUE`` option (read by :func:`key_value`) collecting a list of
    pairs; ``what`` starts its help, e.g. "env argument, e.g. grid_size=6"."""
    p.add_argument(
        flag,
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help=f"{what} (repeatable); {KEY_VALUE_HELP}",
    )


def command_line(
    base: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    args: argparse.Namespace,
    flags: Sequence[str],
) -> str:
    """``base`` followed by each of ``flags`` (e.g. ``"--trials"``) whose value in ``args``
    differs from its default under ``add_arguments``: the command that reproduces a generated
    table, written into the table. Repeatable ``KEY=VALUE`` options give one flag per pair."""
    defaults = argparse.ArgumentParser(add_help=False)
    add_arguments(defaults)
    parts = [base]
    for flag in flags:
        dest = flag.lstrip("-").replace("-", "_")
        if not hasattr(args, dest):
            raise ValueError(f"command_line: {flag!r} is not an option of {base!r}")
        value = getattr(args, dest)
        if value == defaults.get_default(dest):
            continue
        if isinstance(value, list):  # add_key_values pairs
            parts += [f"{flag} {shlex.quote(f'{k}={json.dumps(v)}')}" for k, v in value]
        else:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    return " ".join(parts)


def float_postfix(metrics: Mapping[str, Any], labels: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``{label: "x.xxx"}`` for each ``(key, label)`` whose metric is a float and not NaN."""
    shown = {}
    for key, label in labels:
        value = metrics.get(key)
        if isinstance(value, float) and value == value:
            shown[label] = f"{value:.3f}"
    return shown


def run_iterations(
    run: Callable[..., Any],
    *,
    total: int,
    done: int,
    desc: str,
    no_progress: bool,
    postfix: Callable[[Any], Mapping[str, str]],
    directory: Path,
    iteration: Callable[[], int],
) -> tuple[Any, float] | None:
    """Call ``run(on_iteration=..., on_progress=...)`` (an iterative trainer's loop) under one
    tqdm bar: a tick per iteration with ``postfix(report)`` shown, the current phase in its
    description. Returns the loop's result and the seconds it took; on Ctrl-C, says which
    iteration the last checkpoint in ``directory`` holds and how to resume, and returns None
    (the command's exit code is then 130)."""
    from tqdm import tqdm

    bar = tqdm(
        total=total, initial=min(done, total), unit="it", desc=desc, disable=no_progress or None
    )
    start = time.perf_counter()

    def on_progress(phase: str, finished: int, count: int) -> None:
        bar.set_description(f"{phase} {finished}/{count}")

    def on_iteration(report: Any) -> None:
        bar.set_postfix(postfix(report))
        bar.update(1)

    try:
        final = run(on_iteration=on_iteration, on_progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        print(
            f"{PROG} train: interrupted; the last checkpoint in {directory} is at iteration "
            f"{iteration()}; continue with: {PROG} train --resume {directory}",
            file=sys.stderr,
        )
        return None
    bar.close()
    return final, time.perf_counter() - start


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
