"""``hop-bench train --agent lola|pr2``: tiny runs through the command line, the run folder's
layout, exact resume, and the options that do not apply."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from evaluation.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")
STAG_HUNT = "hop/MarkovStagHunt-v0"


def lola(tmp_path, name: str, *extra: str) -> int:
    return main(
        [
            "train",
            "--agent",
            "lola",
            "--env",
            STAG_HUNT,
            "--steps",
            "2000",
            "--chunk-steps",
            "1000",
            "--out",
            str(tmp_path / name),
            "--no-progress",
            *extra,
        ]
    )


def test_a_lola_run_writes_the_learners_layout_and_resumes_exactly(tmp_path, capsys) -> None:
    assert lola(tmp_path, "whole") == 0
    whole = tmp_path / "whole"
    assert {p.name for p in whole.iterdir()} >= {"run.json", "policy", "log.csv", "curve.png"}
    run = json.loads((whole / "run.json").read_text())
    assert run["config"]["learner"] == "lola" and run["env_steps"] >= 2000
    rows = (whole / "log.csv").read_text().splitlines()
    assert rows[0].startswith("chunk,env_steps,episodes,mean_return_vs_population")
    assert len(rows) - 1 == run["chunks_done"] >= 2
    # the same run in two sessions: stop after the first chunk, then resume
    from baselines.lola.run import LOLARun

    first = LOLARun.resume(whole)  # a copy of the config, trained anew in another folder
    split = LOLARun(first.config, tmp_path / "split", 2000, 1000)
    split.train(until_chunk=1)
    assert main(["train", "--resume", str(tmp_path / "split"), "--no-progress"]) == 0
    a = load_file(str(whole / "policy" / "weights.safetensors"))
    b = load_file(str(tmp_path / "split" / "policy" / "weights.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    out = capsys.readouterr().out
    assert "lola on hop/MarkovStagHunt-v0" in out


def test_options_that_do_not_apply_to_lola_are_refused(tmp_path, capsys) -> None:
    assert lola(tmp_path, "a", "--self-play-games", "2") == 2
    assert "--self-play-games: not an option of lola or pr2" in capsys.readouterr().err
    assert lola(tmp_path, "b", "--num-envs", "4") == 2
    assert "--num-envs: lola plays whole batches" in capsys.readouterr().err
    assert lola(tmp_path, "c", "--coplayer", "stag-follower") == 2
    assert "stag-follower" in capsys.readouterr().err


def pr2(tmp_path, name: str, *extra: str) -> int:
    return main(
        [
            "train",
            "--agent",
            "pr2",
            "--env",
            STAG_HUNT,
            "--steps",
            "128",
            "--chunk-steps",
            "64",
            "--num-envs",
            "4",
            "--out",
            str(tmp_path / name),
            "--no-progress",
            *extra,
        ]
    )


def test_a_pr2_run_through_the_command_line_resumes_exactly(tmp_path, capsys) -> None:
    from baselines.pr2.grid_training import PR2GridConfig, PR2GridTrainer

    assert pr2(tmp_path, "whole") == 0
    whole = tmp_path / "whole"
    assert {p.name for p in whole.iterdir()} >= {"run.json", "policy", "log.csv", "curve.png"}
    run = json.loads((whole / "run.json").read_text())
    assert run["config"]["total_steps"] == 128 and run["chunks_done"] == 2
    config = PR2GridConfig.from_json(run["config"])
    PR2GridTrainer(config, tmp_path / "split").train(until_chunk=1)
    assert main(["train", "--resume", str(tmp_path / "split"), "--no-progress"]) == 0
    a = load_file(str(whole / "policy" / "pr2.safetensors"))
    b = load_file(str(tmp_path / "split" / "policy" / "pr2.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert "pr2 on hop/MarkovStagHunt-v0: 128 env steps" in capsys.readouterr().out
    # a resumed run may only change its target
    assert main(["train", "--resume", str(whole), "--seed", "3", "--no-progress"]) == 2
    assert "only --steps may change" in capsys.readouterr().err


def test_the_command_lines_lists_match_the_trainers_own() -> None:
    # evaluation keeps torch-free copies of these names for a fast CLI start; they must agree
    from baselines.lola.run import RUN_FORMAT as LOLA_RUN_FORMAT
    from baselines.pr2.grid_training import RUN_FORMAT as PR2_RUN_FORMAT
    from baselines.shipped import LEARNING_BASELINES
    from evaluation.train_learners import LEARNER_NAMES
    from evaluation.train_opponent_aware import RUN_FORMATS

    assert RUN_FORMATS == {"lola": LOLA_RUN_FORMAT, "pr2": PR2_RUN_FORMAT}
    assert LEARNER_NAMES == LEARNING_BASELINES
