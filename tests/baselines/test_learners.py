"""The SB3 learners: tiny training runs, safetensors checkpoints, exact resume, the Agent
protocol through ``hop-bench``, and the recurrent learner's memory across episodes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import hop_envs
from agents.base import SeatInfo
from agents.registry import make_agent
from baselines.sb3.agent import LEARNER_AGENTS, RecurrentPPOAgent
from baselines.sb3.checkpoint import load_policy
from baselines.sb3.learners import LEARNERS, learner
from baselines.sb3.training import LearnerTrainConfig, LearnerTrainer
from baselines.shipped import shipped_checkpoint
from evaluation.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")
STAG_HUNT = "hop/MarkovStagHunt-v0"


def tiny(name: str, **overrides) -> LearnerTrainConfig:
    spec = learner(name)
    settings = dict(
        total_steps=256,
        chunk_steps=128,
        num_envs=2,
        self_play_games=0 if spec.recurrent else 1,
        n_steps=16,
    )
    settings.update(overrides)
    return LearnerTrainConfig(name, STAG_HUNT, **settings)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Each learner after a tiny run (2 chunks)."""
    out = {}
    for name in LEARNERS:
        directory = tmp_path_factory.mktemp(name)
        LearnerTrainer(tiny(name), directory).train(progress=False)
        out[name] = directory
    return out


def test_a_run_writes_a_safetensors_checkpoint_that_rebuilds_the_policy(trained) -> None:
    for name, directory in trained.items():
        files = sorted(p.name for p in directory.rglob("*") if p.is_file())
        assert not [f for f in files if f.endswith((".zip", ".pkl", ".pt", ".pth"))]
        meta = json.loads((directory / "policy" / "policy.json").read_text())
        assert meta["learner"] == name and meta["training"]["env_steps"] >= 256
        _, policy = load_policy(directory / "policy")
        saved = load_file(str(directory / "policy" / "policy.safetensors"))
        state = policy.state_dict()
        assert all(torch.equal(state[k], v) for k, v in saved.items())


def test_a_resumed_run_reaches_the_same_weights_as_an_uninterrupted_one(tmp_path) -> None:
    whole = LearnerTrainer(tiny("ppo"), tmp_path / "whole")
    whole.train(progress=False)
    first = LearnerTrainer(tiny("ppo"), tmp_path / "split")
    first.train(progress=False, until_chunk=1)
    resumed = LearnerTrainer.resume(tmp_path / "split")
    assert resumed.chunk == 1
    resumed.train(progress=False)
    a, b = whole.model.policy.state_dict(), resumed.model.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = (tmp_path / "split" / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]


def test_one_seed_reproduces_a_training_run(tmp_path) -> None:
    runs = []
    for folder in ("a", "b"):
        trainer = LearnerTrainer(tiny("a2c"), tmp_path / folder)
        trainer.train(progress=False)
        runs.append(trainer.model.policy.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_held_out_coplayers_and_a_set_reward_mode_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\['stag-follower'\] are held-out"):
        tiny("ppo", coplayers=("nearest-stag", "stag-follower"))
    with pytest.raises(ValueError, match="must not set reward_mode"):
        tiny("ppo", env_kwargs={"reward_mode": "prosocial"})
    with pytest.raises(ValueError, match="unknown learning baseline 'ppo2'"):
        tiny("ppo2")


def test_every_learner_plays_scenarios_through_hop_bench(trained, tmp_path, capsys) -> None:
    for name, directory in trained.items():
        code = main(
            [
                "evaluate",
                "--agent",
                name,
                "--agent-arg",
                f"checkpoint={directory / 'policy'}",
                "--scenario",
                "msh/adapt-1v3-nearest-stag",
                "--trials",
                "1",
                "--episodes",
                "2",
                "--backend",
                "serial",
                "--no-progress",
                "--db",
                str(tmp_path / f"{name}.sqlite"),
            ]
        )
        assert code == 0
        assert "2 new episode(s)" in capsys.readouterr().out


def seat(env_id: str = STAG_HUNT) -> SeatInfo:
    return SeatInfo.of_env(hop_envs.make(env_id), env_id, 0)


def test_the_recurrent_learner_remembers_across_episodes_and_forgets_between_trials(
    trained,
) -> None:
    agent = RecurrentPPOAgent(checkpoint=trained["recurrent-ppo"] / "policy")
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=0)
    first = observations["player_0"]
    agent.reset(seed=0, seat=seat())
    agent.start_episode()
    p_trial_start = agent.action_probabilities(first)
    later = [agent.action_probabilities(first) for _ in range(3)]
    agent.end_episode()
    agent.start_episode()  # same trial: the memory is kept
    p_episode_2 = agent.action_probabilities(first)
    assert not np.allclose(later[0], p_trial_start)  # the same input, a later memory
    assert not np.allclose(p_episode_2, p_trial_start)
    agent.reset(seed=0, seat=seat())  # new trial: the memory is cleared
    agent.start_episode()
    np.testing.assert_allclose(agent.action_probabilities(first), p_trial_start)


def test_the_masked_learner_never_samples_an_illegal_action(trained) -> None:
    agent = LEARNER_AGENTS["ppo"](checkpoint=trained["ppo"] / "policy")
    agent.reset(seed=0, seat=seat())
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=1)
    probs = agent.action_probabilities(observations["player_0"])
    mask = observations["player_0"]["action_mask"].astype(bool)
    assert probs[~mask].sum() == 0 and np.isclose(probs.sum(), 1.0)


def test_a_checkpoint_for_another_game_or_a_missing_one_is_refused(trained, tmp_path) -> None:
    agent = LEARNER_AGENTS["ppo"](checkpoint=trained["ppo"] / "policy")
    with pytest.raises(ValueError, match="trained for hop/MarkovStagHunt-v0"):
        agent.reset(seed=0, seat=seat("hop/MarkovSnowdrift-v0"))
    with pytest.raises(FileNotFoundError, match="no learner checkpoint"):
        LEARNER_AGENTS["a2c"](checkpoint=tmp_path).reset(seed=0, seat=seat())
    assert shipped_checkpoint("ppo", "MarkovSnowdrift-v0").name == "MarkovSnowdrift-v0"


def test_the_agents_probabilities_are_sb3s_distribution(trained) -> None:
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=2)
    observation = observations["player_0"]
    grid = torch.as_tensor(observation["observation"][None], dtype=torch.float32)
    mask = observation["action_mask"][None].astype(bool)
    for name in ("ppo", "a2c"):
        agent = LEARNER_AGENTS[name](checkpoint=trained[name] / "policy")
        agent.reset(seed=0, seat=seat())
        with torch.no_grad():
            if name == "ppo":
                expected = agent.policy.get_distribution(grid, action_masks=mask)
            else:
                expected = agent.policy.get_distribution(grid)
        np.testing.assert_allclose(
            agent.action_probabilities(observation),
            expected.distribution.probs[0].double().numpy(),
            atol=1e-6,
        )


@pytest.mark.parametrize("name", ["ppo", "social-influence", "lola", "pr2"])
@pytest.mark.parametrize(
    ("env_kwargs", "refused"),
    [({"grid_size": 6}, r"trained on observations \(\d+, 8, 8\)"), ({"num_players": 3}, "players")],
)
def test_a_shipped_checkpoint_is_refused_on_a_game_of_other_sizes(name, env_kwargs, refused):
    # every learner agent checks the seat against what its checkpoint was trained on
    env = hop_envs.make(STAG_HUNT, **env_kwargs)
    agent = make_agent(name)
    with pytest.raises(ValueError, match=refused):
        agent.reset(seed=0, seat=SeatInfo.of_env(env, STAG_HUNT, 0, env_kwargs=env_kwargs))
