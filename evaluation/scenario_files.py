"""User scenarios in TOML files, with errors that point at the file, line and field.

A scenario file holds one scenario::

    name = "my/adapt-1v3-mixed"          # optional; defaults to the file name without .toml
    env_id = "hop/MarkovStagHunt-v0"
    focal_seats = [0]
    # one entry per non-focal seat: a co-player name, a 'module:Class' path, or a list of
    # names from which one is drawn per trial; a single string fills every seat
    background = ["nearest-stag", "nearest-hare", ["random", "nearest-stag"]]
    episodes = 10                        # optional (default 10)
    trials = 10                          # optional (default 10)
    description = "..."                  # optional

    [env_kwargs]                         # optional: arguments of the env
    grid_size = 6
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from evaluation.scenarios import Scenario, ScenarioFieldError

FIELDS = (
    "name",
    "env_id",
    "focal_seats",
    "background",
    "env_kwargs",
    "episodes",
    "trials",
    "description",
)
REQUIRED = ("env_id", "focal_seats")


class ScenarioFileError(ValueError):
    """A scenario file that cannot be read: ``path:line: field: reason``."""

    def __init__(self, path: Path, line: int | None, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.field, self.reason))


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _key_pattern(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(rf"^\s*(?:{quoted}|\"{quoted}\"|'{quoted}')\s*(?:=|\.)")


def find_key_line(text: str, field: str) -> int | None:
    """The 1-based line where ``field`` (``key`` or ``table.key``) is set in TOML ``text``.

    Looks for ``key =`` at top level, ``key =`` inside ``[table]`` and ``table.key =`` at top
    level; failing those, the line that opens ``[table]``, then a top-level ``table = {...}``.
    """
    table, _, key = field.rpartition(".")
    current = ""
    header_line = inline_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            if table and current == table and header_line is None:
                header_line = number
            continue
        if current == table and _key_pattern(key).match(line):
            return number
        if table and current == "":
            if re.match(rf"^\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
                return number
            if inline_line is None and _key_pattern(table).match(line):
                inline_line = number
    return header_line if header_line is not None else inline_line


def parse_scenario(text: str, path: Path) -> Scenario:
    """A :class:`Scenario` from TOML ``text`` (``path`` only names the source in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"line (\d+)", str(err))
        line = int(match.group(1)) if match else None
        raise ScenarioFileError(path, line, None, f"invalid TOML: {err}") from None

    def fail(field: str, reason: str) -> ScenarioFileError:
        line = find_key_line(text, field)
        if line is None and "." in field:
            line = find_key_line(text, field.split(".")[0])
        return ScenarioFileError(path, line, field, reason)

    for key in data:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=2, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise fail(key, f"unknown field{hint} Known fields: {', '.join(FIELDS)}")
    for key in REQUIRED:
        if key not in data:
            raise ScenarioFileError(path, None, key, "missing (required)")
    expected = {
        "name": str,
        "env_id": str,
        "description": str,
        "env_kwargs": dict,
        "focal_seats": (list, int),
        "background": (list, str),
    }
    for key, kind in expected.items():
        if key in data and not isinstance(data[key], kind):
            raise fail(key, f"wrong type {type(data[key]).__name__}, got {data[key]!r}")
    if "background" not in data:
        data["background"] = ()
    if isinstance(data.get("focal_seats"), int):
        data["focal_seats"] = [data["focal_seats"]]
    data.setdefault("name", path.stem)
    try:
        return Scenario(**data)
    except ScenarioFieldError as err:
        raise fail(err.field, str(err)) from None


def load_scenario_file(path: Path | str) -> Scenario:
    """Read a scenario TOML file; any problem raises :class:`ScenarioFileError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioFileError(path, None, None, "no such scenario file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioFileError(path, None, None, f"cannot read: {err}") from None
    return parse_scenario(text, path)
