"""Generated blocks of a README: the text between a pair of marker comments, replaced whole.

A block named ``name`` sits between the lines ``<!-- name:start -->`` and
``<!-- name:end -->``. Commands that write results into a README (the main job, the HOP+
ablation, ``hop-bench report --readme``) check the markers before any work, so a long run
cannot end on a missing marker, and replace only what lies between them.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["check_block", "markers", "replace_block"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def markers(name: str) -> tuple[str, str]:
    """The start and end marker lines of block ``name``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"README block name must be letters, digits, '.', '_', ':' or '-', got {name!r}"
        )
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def check_block(readme: Path, name: str) -> str:
    """``readme``'s text; ``ValueError`` unless it holds block ``name``'s markers once each,
    start before end."""
    start, end = markers(name)
    if not Path(readme).is_file():
        raise ValueError(f"--readme: no such file {str(readme)!r}")
    text = Path(readme).read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(
            f"{readme} does not hold {start} ... {end} once each, in that order; add those two "
            "lines where the generated text should go"
        )
    return text


def replace_block(readme: Path, name: str, body: str) -> None:
    """Write ``body`` between block ``name``'s markers of ``readme`` (one newline after the
    start marker and before the end marker), leaving the rest of the file as it was."""
    text = check_block(readme, name)
    start, end = markers(name)
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    Path(readme).write_text(f"{head}{start}\n{body.strip()}\n{end}{tail}", encoding="utf-8")
