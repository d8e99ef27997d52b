"""README blocks (:mod:`evaluation.readme_blocks`): markers, checks, replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.readme_blocks import check_block, markers, replace_block

TEMPLATE = "# Title\n\nIntro text.\n\n{start}\nold table\n{end}\n\n## After\n\nMore text.\n"


def test_markers_name_the_block_and_refuse_odd_names() -> None:
    assert markers("results") == ("<!-- results:start -->", "<!-- results:end -->")
    assert markers("report:hop-plus-10x10") == (
        "<!-- report:hop-plus-10x10:start -->",
        "<!-- report:hop-plus-10x10:end -->",
    )
    for bad in ("", "a b", "-->", "x<y", 3):
        with pytest.raises(ValueError, match="README block name must be"):
            markers(bad)  # type: ignore[arg-type]


def test_replace_block_replaces_between_markers_only(tmp_path: Path) -> None:
    start, end = markers("t")
    readme = tmp_path / "README.md"
    original = TEMPLATE.format(start=start, end=end)
    readme.write_text(original)
    replace_block(readme, "t", "| new |\n")
    assert readme.read_text() == original.replace("\nold table\n", "\n| new |\n")
    replace_block(readme, "t", "\n\n| newer |\n\n")  # again: one copy, surrounding blank lines cut
    assert readme.read_text() == original.replace("\nold table\n", "\n| newer |\n")


def test_other_blocks_are_left_alone(tmp_path: Path) -> None:
    (a0, a1), (b0, b1) = markers("a"), markers("b")
    readme = tmp_path / "README.md"
    both = f"x\n{a0}\none\n{a1}\ny\n{b0}\ntwo\n{b1}\nz\n"
    readme.write_text(both)
    replace_block(readme, "b", "TWO")
    assert readme.read_text() == both.replace("\ntwo\n", "\nTWO\n")


def test_missing_repeated_or_reversed_markers_are_refused_untouched(tmp_path: Path) -> None:
    start, end = markers("t")
    readme = tmp_path / "README.md"
    for text in ("# none\n", f"only {start}\n", f"only {end}\n", f"{end}\n{start}\n",
                 f"{start}\n{end}\n{start}\n{end}\n"):  # fmt: skip
        readme.write_text(text)
        with pytest.raises(ValueError, match=f"does not hold {start} ... {end} once each"):
            replace_block(readme, "t", "| t |\n")
        assert readme.read_text() == text
    with pytest.raises(ValueError, match="--readme: no such file"):
        check_block(tmp_path / "nope.md", "t")
