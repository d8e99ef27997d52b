"""Maximum-likelihood opponent-model training: it learns a scripted co-player, uses the
goal, is deterministic, and clears the buffer after each round."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.base import Transition
from agents.hop.buffer import OMSamples, OpponentBuffer
from agents.hop.features import FeatureBuilder
from agents.hop.goals import EpisodeRecorder
from agents.hop.networks import ACTION_MODEL, FOCAL, GOAL_OM, NetworkConfig, build_network
from agents.hop.om_training import OMTrainingConfig, OpponentModelTrainer, evaluate_model
from hop_envs.coplayers import make_coplayer
from hop_envs.core import (
    HARE,
    HUNT_HARE,
    HUNT_STAG,
    IDLE,
    STAG,
    STAY,
    StagHuntConfig,
    StagHuntRules,
)
from hop_envs.envs import MarkovStagHuntEnv

RULES = StagHuntRules(
    StagHuntConfig(
        num_players=2, grid_size=5, num_stags=1, num_hares=2, num_wall_pieces=0, max_cycles=20
    )
)
SIZES = {"conv_channels": (16, 16), "hidden": 64}


def nearest_prey_action(state, seat: int, goal: int) -> int:
    """A deterministic nearest-prey co-player: hunt when on prey of the goal kind, else the
    first move (up, down, left, right) along a shortest path to the nearest such prey."""
    cell = int(state.player_pos[seat])
    live = state.object_alive & (state.object_kind == goal)
    distance = state.layout.distances_from(cell)
    target = min(state.object_pos[live].tolist(), key=lambda c: (distance[c], c))
    if target == cell:
        return HUNT_STAG if goal == STAG else HUNT_HARE
    to_target = state.layout.distances_from(target)
    for move in range(4):
        nxt = int(state.layout.neighbors[cell, move])
        if nxt >= 0 and to_target[nxt] == to_target[cell] - 1:
            return move
    raise AssertionError("an open grid always has a shortest-path move")


def scripted_samples(n: int, seed: int) -> tuple[OMSamples, list]:
    """``n`` random positions of seat 1 with a random goal and the scripted action."""
    rng = np.random.default_rng(seed)
    fb = FeatureBuilder(RULES)
    states, goals, actions = [], [], []
    for _ in range(n):
        state = RULES.reset(rng)
        state.t = int(rng.integers(0, 20))
        goal = int(rng.integers(2))
        states.append(state)
        goals.append(goal)
        actions.append(nearest_prey_action(state, 1, goal))
    seats = np.ones(n, dtype=np.int64)
    samples = OMSamples(
        fb.grids(states, seats, dtype=np.uint8),
        np.asarray([s.t for s in states]),
        fb.masks(states, seats),
        np.asarray(actions),
        np.asarray(goals),
    )
    return samples, states


def trainer(kind: str = GOAL_OM, net_seed: int = 0, **config) -> OpponentModelTrainer:
    net = build_network(NetworkConfig.for_rules(RULES, kind, **SIZES), seed=net_seed)
    return OpponentModelTrainer(net, RULES, OMTrainingConfig(**config))


def test_training_learns_a_scripted_nearest_prey_coplayer():
    train, _ = scripted_samples(2000, seed=0)
    test, test_states = scripted_samples(400, seed=1)
    t = trainer(epochs=25, batch_size=64, learning_rate=3e-3)
    stats = t.fit(train)
    assert stats.samples == 2000 and len(stats.epoch_losses) == 25
    assert stats.epoch_losses[-1] < 0.3 * stats.epoch_losses[0]
    loss, accuracy = evaluate_model(t.model, t.features, test)
    assert accuracy >= 0.9, (loss, accuracy)
    # The goal matters: where chasing a stag and chasing a hare call for different actions,
    # the model follows the goal it is given.
    fb = FeatureBuilder(RULES)
    seats = np.ones(len(test_states), dtype=np.int64)
    for goal, other in ((STAG, HARE), (HARE, STAG)):
        want = np.asarray([nearest_prey_action(s, 1, goal) for s in test_states])
        differs = want != np.asarray([nearest_prey_action(s, 1, other) for s in test_states])
        with torch.inference_mode():
            logits = t.model.run(fb.build(test_states, seats, [goal] * len(test_states)))
        predicted = logits.argmax(1).numpy()
        assert differs.sum() > 100
        assert (predicted[differs] == want[differs]).mean() >= 0.85


def test_stag_hunt_idle_is_a_trained_goal():
    # Stag-hunt co-players that end an episode without a capture are labelled IDLE, so the
    # goal-conditioned model learns what they do: here a scripted idler that always stays,
    # mixed with nearest-prey hunters.
    hunt, _ = scripted_samples(600, seed=3)
    idle_samples, idle_states = scripted_samples(600, seed=4)
    stay = np.full(len(idle_samples), STAY)
    idle = OMSamples(
        idle_samples.grids, idle_samples.steps, idle_samples.masks, stay, np.full(600, IDLE)
    )
    both = OMSamples(
        *(
            np.concatenate([getattr(hunt, f), getattr(idle, f)])
            for f in ("grids", "steps", "masks", "actions", "goals")
        )
    )
    t = trainer(epochs=10, batch_size=64, learning_rate=3e-3)
    t.fit(both)
    fb = FeatureBuilder(RULES)
    seats = np.ones(len(idle_states), dtype=np.int64)
    with torch.inference_mode():
        idle_logits = t.model.run(fb.build(idle_states, seats, [IDLE] * len(idle_states)))
        stag_logits = t.model.run(fb.build(idle_states, seats, [STAG] * len(idle_states)))
    assert (idle_logits.argmax(1).numpy() == STAY).mean() >= 0.95
    assert (stag_logits.argmax(1).numpy() == STAY).mean() <= 0.2


def test_training_is_deterministic_given_the_seed():
    samples, _ = scripted_samples(300, seed=2)
    a, b, c = (trainer(net_seed=4, epochs=2, seed=s) for s in (7, 7, 8))
    stats_a, stats_b = a.fit(samples), b.fit(samples)
    c.fit(samples)
    assert stats_a.epoch_losses == stats_b.epoch_losses
    for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    assert any(
        not torch.equal(x, z)
        for x, z in zip(a.model.state_dict().values(), c.model.state_dict().values(), strict=True)
    )


def play_episodes(buffer: OpponentBuffer, count: int) -> None:
    """Real 4-player stag-hunt episodes: random focal seat 0, nearest-stag/nearest-hare
    co-players; each recorded from seat 0's view into ``buffer``."""
    env = MarkovStagHuntEnv(grid_size=6, num_wall_pieces=2, max_cycles=20)
    names = ["random", "nearest-stag", "nearest-hare", "nearest-stag"]
    players = [make_coplayer(name, "MarkovStagHunt-v0") for name in names]
    for seat, player in enumerate(players):
        player.reset(seed=seat)
    for episode in range(count):
        observations, _ = env.reset(seed=episode)
        recorder = EpisodeRecorder(env.rules, 0)
        recorder.begin(observations["player_0"])
        while env.agents:
            actions = {a: players[int(a[-1])].act(observations[a]) for a in env.agents}
            step = env.step(actions)
            if "player_0" in actions:
                recorder.record(Transition(actions, *step))
            observations = step[0]
        buffer.add_episode(recorder.finish())


def test_rounds_train_on_the_buffer_and_clear_it():
    env = MarkovStagHuntEnv(grid_size=6, num_wall_pieces=2, max_cycles=20)
    rules = env.rules
    buffer = OpponentBuffer(rules)
    play_episodes(buffer, 8)
    labelled = buffer.num_samples(goal_conditioned=True)
    everything = buffer.num_samples(goal_conditioned=False)
    assert 0 < labelled <= everything
    config = OMTrainingConfig(epochs=15, batch_size=32, learning_rate=3e-3)
    goal_net = build_network(NetworkConfig.for_rules(rules, GOAL_OM, **SIZES), seed=0)
    free_net = build_network(NetworkConfig.for_rules(rules, ACTION_MODEL, **SIZES), seed=0)
    goal_trainer = OpponentModelTrainer(goal_net, rules, config)
    free_trainer = OpponentModelTrainer(free_net, rules, config)
    goal_stats = goal_trainer.train_round(buffer, clear=False)
    assert len(buffer) == everything  # kept for the second model
    free_stats = free_trainer.train_round(buffer)
    assert len(buffer) == 0
    assert (goal_stats.samples, free_stats.samples) == (labelled, everything)
    for stats in (goal_stats, free_stats):
        assert stats.round == 0 and stats.trained
        assert stats.epoch_losses[-1] < 0.6 * stats.epoch_losses[0]
    # An empty round changes nothing.
    before = [p.clone() for p in goal_net.parameters()]
    empty = goal_trainer.train_round(buffer)
    assert empty.round == 1 and not empty.trained and empty.samples == 0
    assert all(torch.equal(x, y) for x, y in zip(before, goal_net.parameters(), strict=True))


def test_trainer_input_checks():
    focal = build_network(NetworkConfig.for_rules(RULES, FOCAL, **SIZES), seed=0)
    with pytest.raises(TypeError, match="GoalOpponentModel or ActionModel, got FocalNet"):
        OpponentModelTrainer(focal, RULES)  # type: ignore[arg-type]
    samples, _ = scripted_samples(5, seed=3)
    unlabelled = OMSamples(samples.grids, samples.steps, samples.masks, samples.actions, None)
    with pytest.raises(ValueError, match="needs labelled samples"):
        trainer().fit(unlabelled)
    for field, value, message in (
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("learning_rate", 0.0, "learning_rate must be > 0"),
        ("max_grad_norm", -1.0, "max_grad_norm must be None or > 0, got -1.0"),
        ("seed", -2, "seed must be an integer >= 0, got -2"),
    ):
        with pytest.raises(ValueError, match=message):
            OMTrainingConfig(**{field: value})
