"""The predicting-agent example in README runs as written and is scored as worked by hand."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import run_trial
from evaluation.scenarios import Scenario

ROOT = Path(__file__).resolve().parents[2]


def predictor_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    found = [b for b in blocks if "def predict_coplayers" in b]
    assert len(found) == 1, "README.md: expected one predicting-agent example"
    return found[0]


def test_the_readme_predictor_is_scored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "readme_predictor.py").write_text(predictor_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    scenario = Scenario(
        "rnd", "hop/MarkovStagHunt-v0", (0,), background="random", env_kwargs={"max_cycles": 6}
    )
    job = TrialJob(AgentSpec("readme_predictor:UniformGuess", {}), scenario, 0, 0, 1, frozenset())
    (record,) = list(run_trial(job))
    # 1/7 on each of the 7 stag-hunt actions, whatever the co-player did: log(1/7) per step;
    # all seven tie for the top, so accuracy 1/7; Brier (6/7)^2 + 6 (1/7)^2 = 6/7.
    assert record.om_count and record.om_count > 0
    assert record.om_loglik == pytest.approx(math.log(1 / 7))
    assert record.om_accuracy == pytest.approx(1 / 7)
    assert record.om_brier == pytest.approx(6 / 7)
    # random co-players have an exact distribution on every item; no goal beliefs given
    assert record.om_exact_count == record.om_count
    assert record.om_goal_count == 0 and record.om_goal_prob is None
