"""The HOP training loop end to end on a tiny game: iterations, checkpoints, resume, workers."""

from __future__ import annotations

import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.hop.features import FeatureBuilder
from agents.hop.networks import ACTION_MODEL, FOCAL, GOAL_OM
from agents.hop.training.checkpoint import (
    STATE_FILE,
    load_checkpoint,
    resolve_checkpoint,
    shipped_checkpoint_dir,
)
from agents.hop.training.config import TrainConfig
from agents.hop.training.log import COLUMNS, read_log
from agents.hop.training.loop import Trainer

TINY = TrainConfig(
    env_id="MarkovStagHunt-v0",
    env_kwargs={
        "num_players": 2,
        "grid_size": 5,
        "num_hares": 2,
        "num_wall_pieces": 0,
        "max_cycles": 10,
    },
    seed=3,
    iterations=1,
    trials_per_iteration=2,
    episodes_per_trial=1,
    num_trees=2,
    num_simulations=3,
    conv_channels=(4,),
    hidden=16,
    pretrain_episodes=6,
    pretrain_om_epochs=2,
    pretrain_focal_epochs=1,
    holdout_episodes=10,
    checkpoint_every=1,
)


def _train(directory: Path, iterations: int, config: TrainConfig = TINY, **kwargs) -> Trainer:
    trainer = Trainer.new(config, directory, tensorboard=False, **kwargs)
    trainer.run(iterations)
    return trainer


def _numbers(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The log rows without the wall-clock column."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_one_iteration_end_to_end(tmp_path: Path) -> None:
    trainer = _train(tmp_path / "run", 1)
    rows = read_log(tmp_path / "run" / "log.csv")
    assert [r["iteration"] for r in rows] == ["0", "1"]
    assert [r["phase"] for r in rows] == ["pretrain", "search"]
    assert list(rows[0]) == list(COLUMNS)
    search = rows[1]
    assert int(search["episodes"]) == 2  # 2 trials x 1 episode
    assert int(search["focal_samples"]) > 0
    for key in ("policy_loss", "value_loss", "policy_entropy", "learner_return"):
        assert math.isfinite(float(search[key])), key
    for key in ("om_loss", "action_model_loss", "policy_loss", "value_loss"):
        assert math.isfinite(float(rows[0][key])), key
    # the opponent model is scored on held-out rule-based episodes after every iteration
    for row in rows:
        assert 0.0 <= float(row["om_eval_accuracy"]) <= 1.0
        assert math.isfinite(float(row["om_eval_loss"]))
    assert trainer.state.iteration == 1 and trainer.state.pretrained
    # the counters of every trainer moved: pre-training and one iteration each
    assert trainer.state.rounds == {FOCAL: 2, GOAL_OM: 2, ACTION_MODEL: 2}


def _is_safetensors(path: Path) -> bool:
    """A safetensors file: an 8-byte little-endian header length, then that much JSON."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    return isinstance(header, dict) and 8 + length <= len(data)


def test_checkpoint_files_are_only_safetensors_json_and_csv(tmp_path: Path) -> None:
    _train(tmp_path / "run", 1)
    files = sorted(p for p in (tmp_path / "run").rglob("*") if p.is_file())
    names = {p.relative_to(tmp_path / "run").as_posix() for p in files}
    assert {
        STATE_FILE,
        "log.csv",
        "focal/weights.safetensors",
        "focal/config.json",
        "opponent_model/weights.safetensors",
        "action_model/weights.safetensors",
        "optimizers/focal.safetensors",
        "optimizers/focal.json",
        "optimizers/opponent_model.safetensors",
    } <= names
    for path in files:
        assert path.suffix in (".safetensors", ".json", ".csv"), path
        if path.suffix == ".safetensors":
            assert _is_safetensors(path), path
        elif path.suffix == ".json":
            json.loads(path.read_text())
        assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_checkpoint_round_trip_gives_the_same_outputs_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = _train(tmp_path / "run", 1)

    def refuse(*args, **kwargs):
        raise AssertionError("loading a checkpoint must not unpickle anything")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_checkpoint(tmp_path / "run")
    monkeypatch.undo()
    assert loaded.config == TINY
    assert loaded.state.iteration == 1
    assert loaded.state.rounds == trainer.state.rounds

    rules = trainer.rules
    rng = np.random.default_rng(0)
    states = [rules.reset(rng) for _ in range(5)]
    fb = FeatureBuilder(rules)
    plain = fb.build(states, [0] * 5)
    with_goals = fb.build(states, [1] * 5, goals=[0, 1, 1, 0, 1])
    with torch.inference_mode():
        for kind in (FOCAL, ACTION_MODEL):
            torch.testing.assert_close(
                loaded.networks[kind].run(plain),
                trainer.networks[kind].run(plain),
                rtol=0,
                atol=0,
            )
        torch.testing.assert_close(
            loaded.opponent_model.run(with_goals),
            trainer.networks[GOAL_OM].run(with_goals),
            rtol=0,
            atol=0,
        )
    # optimizer moments and step counts come back exactly
    saved = trainer.focal_trainer.optimizer.state_dict()
    restored = loaded.optimizers[FOCAL]
    assert restored["param_groups"][0]["betas"] == saved["param_groups"][0]["betas"]
    for pid, entries in saved["state"].items():
        for key, value in entries.items():
            torch.testing.assert_close(restored["state"][pid][key], value, rtol=0, atol=0)


def test_resume_continues_the_counter_and_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    straight = _train(tmp_path / "straight", 3)
    _train(tmp_path / "split", 2)
    resumed = Trainer.resume(tmp_path / "split", tensorboard=False)
    assert resumed.state.iteration == 2
    resumed.run(3)
    assert resumed.state.iteration == 3
    a = _numbers(read_log(tmp_path / "straight" / "log.csv"))
    b = _numbers(read_log(tmp_path / "split" / "log.csv"))
    assert [r["iteration"] for r in b] == ["0", "1", "2", "3"]
    assert a == b
    for kind, net in straight.networks.items():
        for (name, p), q in zip(
            net.state_dict().items(), resumed.networks[kind].state_dict().values(), strict=True
        ):
            torch.testing.assert_close(p, q, rtol=0, atol=0, msg=f"{kind}.{name}")


def test_resume_drops_log_rows_written_after_the_last_checkpoint(tmp_path: Path) -> None:
    config = TrainConfig(**{**TINY.to_json(), "checkpoint_every": 2})
    _train(tmp_path / "run", 3, config)  # checkpoints at 0 (pre-training), 2 and 3 (the end)
    log = tmp_path / "run" / "log.csv"
    rows = read_log(log)
    # pretend the run died after logging iteration 4 but before its checkpoint
    with open(log, "a") as f:
        f.write(",".join(["4", "search"] + [""] * (len(COLUMNS) - 2)) + "\n")
    Trainer.resume(tmp_path / "run", tensorboard=False)
    assert read_log(log) == rows


def test_new_run_refuses_a_folder_with_a_checkpoint(tmp_path: Path) -> None:
    _train(tmp_path / "run", 0)
    with pytest.raises(FileExistsError, match="already holds a checkpoint"):
        Trainer.new(TINY, tmp_path / "run", tensorboard=False)


def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    config = TrainConfig(**{**TINY.to_json(), "pretrain_episodes": 45})  # 3 offline tasks
    _train(tmp_path / "one", 1, config, workers=1)
    _train(tmp_path / "two", 1, config, workers=2)
    a = _numbers(read_log(tmp_path / "one" / "log.csv"))
    b = _numbers(read_log(tmp_path / "two" / "log.csv"))
    assert a == b


def test_resolve_checkpoint(tmp_path: Path) -> None:
    assert resolve_checkpoint(None, "MarkovStagHunt-v0") is None
    _train(tmp_path / "run", 0)
    assert resolve_checkpoint(str(tmp_path / "run"), "MarkovStagHunt-v0") == tmp_path / "run"
    with pytest.raises(FileNotFoundError, match=r"has no training\.json"):
        resolve_checkpoint(tmp_path / "nowhere", "MarkovStagHunt-v0")
    with pytest.raises(ValueError, match="checkpoint must be None, 'default' or a folder"):
        resolve_checkpoint(3, "MarkovStagHunt-v0")  # type: ignore[arg-type]
    assert shipped_checkpoint_dir("hop/MarkovSnowdrift-v0").name == "MarkovSnowdrift-v0"


@pytest.mark.parametrize(
    ("env_id", "pretrain_episodes"),
    [("hop/MarkovStagHunt-v0", 3000), ("hop/MarkovSnowdrift-v0", 1000)],
)
def test_shipped_checkpoints_load_and_fit_the_default_envs(
    env_id: str, pretrain_episodes: int
) -> None:
    import hop_envs

    path = resolve_checkpoint("default", env_id)
    assert path == shipped_checkpoint_dir(env_id)
    files = [p for p in path.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 6_000_000  # a few MB
    for p in files:
        if p.suffix == ".safetensors":
            assert _is_safetensors(p), p
    checkpoint = load_checkpoint(path, optimizers=False)
    # made by the documented command (docs/training.md): default env, seed 0, 20 iterations
    assert checkpoint.config.env_id == env_id and checkpoint.config.env_kwargs == {}
    assert (checkpoint.config.seed, checkpoint.state.iteration) == (0, 20)
    assert checkpoint.config.pretrain_episodes == pretrain_episodes
    rules = hop_envs.make(env_id).unwrapped.rules
    for network in checkpoint.networks.values():
        network.config.check_rules(rules)
    rows = read_log(path / "log.csv")
    assert [int(r["iteration"]) for r in rows] == list(range(21))
