"""User scenarios in TOML files, with errors that point at the file, line and field.

A scenario file holds one scenario::

    name = "my/adapt-1v3-mixed"          # optional; defaults to the file name without .toml
    env_id = "hop/MarkovStagHunt-v0"
    focal_seats = [0]
    # one entry per non-focal seat: a co-player name, a 'module:Class' path, a co-player
    # with arguments as an inline table, or a list of those from which one is drawn per
    # trial; a single entry fills every seat
    background = [
        "nearest-stag",
        {name = "patient-stag", kwargs = {patience = 3}},
        ["random", "nearest-stag"],
    ]
    episodes = 10                        # optional (default 10)
    trials = 10                          # optional (default 10)
    description = "..."                  # optional

    [env_kwargs]                         # optional: arguments of the env
    grid_size = 6

Instead of ``background``, ``lineups`` lists whole line-ups, one of which is drawn per trial
(a single entry fills every seat, so this is a hidden-type scenario: all three co-players
share one kind, unknown to the focal agent)::

    lineups = ["nearest-stag", "nearest-hare", {name = "patient-stag", kwargs = {patience = 3}}]

A co-player table has ``name`` and optionally ``kwargs``; the co-player is built once when
the file is read, so a bad argument fails at once with ``file:line: field: reason``.
Dispatching names, ``module:Attr`` paths and files is :func:`evaluation.scenarios.load_scenario`;
this module builds on :mod:`evaluation.scenario_types` only.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from evaluation.scenario_types import Scenario, ScenarioFieldError

FIELDS = (
    "name",
    "env_id",
    "focal_seats",
    "background",
    "lineups",
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


_KEY_LINE = re.compile(r"""^\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*(?:\.|=)""")


def find_value_line(text: str, key_line: int, needles: tuple[str, ...]) -> int:
    """The line of one entry inside the value that starts on ``key_line`` (a list may span
    lines): the first line of that value holding every word of ``needles``, else the first
    holding ``needles[0]``, else ``key_line``. The value ends before the next ``key =`` line
    or table header."""
    lines = text.splitlines()
    end = key_line
    while end < len(lines) and not (_KEY_LINE.match(lines[end]) or _HEADER.match(lines[end])):
        end += 1
    span = range(key_line, end + 1)  # 1-based line numbers of the value

    def holds(number: int, words: tuple[str, ...]) -> bool:
        line = lines[number - 1].split("#", 1)[0]  # not in a trailing comment
        return all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", line) for w in words)

    for words in (needles, needles[:1]):
        for number in span:
            if holds(number, words):
                return number
    return key_line


def parse_scenario(text: str, path: Path) -> Scenario:
    """A :class:`Scenario` from TOML ``text`` (``path`` only names the source in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"line (\d+)", str(err))
        line = int(match.group(1)) if match else None
        raise ScenarioFileError(path, line, None, f"invalid TOML: {err}") from None

    def fail(field: str, reason: str, needles: tuple[str, ...] = ()) -> ScenarioFileError:
        line = find_key_line(text, field)
        if line is None and "." in field:
            line = find_key_line(text, field.split(".")[0])
        if line is not None and needles:
            line = find_value_line(text, line, needles)
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
        "background": (list, str, dict),
        "lineups": list,
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
        raise fail(err.field, str(err), err.needles) from None


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
