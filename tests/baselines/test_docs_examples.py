"""The SB3 example in README and docs/baselines.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def sb3_examples(path: Path) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    return [b for b in blocks if "MaskablePPO" in b]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("document", ["README.md", "docs/baselines.md"])
def test_the_sb3_example_runs(document: str) -> None:
    examples = sb3_examples(ROOT / document)
    assert len(examples) == 1, f"{document}: expected one SB3 example"
    namespace: dict = {}
    exec(compile(examples[0], document, "exec"), namespace)
    assert namespace["env"].unwrapped.spec.id == "hop/MarkovStagHuntFocal-v0"
    assert namespace["model"].num_timesteps >= 512
