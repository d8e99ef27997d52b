"""Evidence that HOP adapts: beliefs concentrate within an episode on what a co-player is
after, the inter-episode prior moves with what co-players did, and (slow) a hidden-type
trial's last episodes score at least its first."""

from __future__ import annotations

import numpy as np
import pytest

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.agent import HopAgent
from agents.hop.beliefs import GoalBeliefs
from agents.hop.interfaces import IDLE, PolicyQuery
from hop_envs.coplayers import make_coplayer
from hop_envs.core import HARE, NUM_MOVES, STAG, GridLayout, StagHuntConfig, StagHuntRules

WIDTH = 5
RIGHT = 3  # move order: up, down, left, right


def cell(r: int, c: int) -> int:
    return r * WIDTH + c


class HeadsForItsPrey:
    """A hand-written goal model: with probability 0.9 a co-player takes a shortest step
    towards the nearest prey of its goal kind (split over the shortest steps), otherwise any
    legal action uniformly; on its prey it hunts it."""

    def __init__(self, rules: StagHuntRules) -> None:
        self.rules = rules

    def action_probs(self, queries):
        out = np.zeros((len(queries), self.rules.num_actions))
        for i, q in enumerate(queries):
            legal = self.rules.action_mask(q.state, q.player).astype(float)
            out[i] = 0.1 * legal / legal.sum()
            best = self._shortest_steps(q)
            out[i, best] += 0.9 / len(best)
        return out

    def _shortest_steps(self, q: PolicyQuery) -> list[int]:
        state, here = q.state, int(q.state.player_pos[q.player])
        prey = [
            int(p)
            for p, k, alive in zip(
                state.object_pos, state.object_kind, state.object_alive, strict=True
            )
            if alive and k == q.goal
        ]
        if here in prey:
            return [NUM_MOVES + 1 + q.goal]  # hunt stag (5) / hunt hare (6)
        r, c = divmod(here, WIDTH)

        def dist(cell_: int) -> int:
            return min(
                abs(cell_ // WIDTH - pr // WIDTH) + abs(cell_ % WIDTH - pr % WIDTH) for pr in prey
            )

        moves = {0: (r - 1, c), 1: (r + 1, c), 2: (r, c - 1), 3: (r, c + 1)}
        inside = {
            a: rr * WIDTH + cc
            for a, (rr, cc) in moves.items()
            if 0 <= rr < WIDTH and 0 <= cc < WIDTH
        }
        d = min(dist(x) for x in inside.values())
        return [a for a, x in inside.items() if dist(x) == d]


def test_beliefs_concentrate_on_a_scripted_coplayers_true_goal_within_an_episode() -> None:
    # 5x5 open grid. Co-player 1 at (2,1) walks right towards the stag at (2,4); the hare
    # is at (0,0), up and left of it. The focal player stays at (4,4).
    # Under the model, a right step has probability 0.9 + 0.1/5 = 0.92 for a stag hunter
    # (the only shortest step) and 0.1/5 = 0.02 for a hare hunter (right moves away), so
    # from the uniform prior the posterior on the stag after k right steps is
    # 0.92^k / (0.92^k + 0.02^k): 0.978723 after one step, 0.999528 after two, 0.999990
    # after three; IDLE (never pursued here: prior 0) stays at 0.
    rules = StagHuntRules(StagHuntConfig(num_players=2, grid_size=WIDTH, num_hares=1))
    layout = GridLayout.from_walls(np.zeros((WIDTH, WIDTH), dtype=bool))
    state = rules.state_from_positions(
        layout, player_pos=[cell(4, 4), cell(2, 1)], object_pos=[cell(2, 4), cell(0, 0)]
    )
    beliefs = GoalBeliefs(rules, HeadsForItsPrey(rules), focal_seat=0)
    beliefs.start_episode(state, priors={1: {STAG: 0.5, HARE: 0.5}})
    expected = [0.978723404, 0.999527633, 0.999989726]
    for k in range(3):
        after = state.copy()
        rules.step(after, [4, RIGHT])
        beliefs.update(state, {0: 4, 1: RIGHT}, after)
        posterior = beliefs.posterior(1)
        assert posterior[STAG] == pytest.approx(expected[k], abs=1e-8)
        assert posterior[HARE] == pytest.approx(1.0 - expected[k], abs=1e-8)
        assert posterior[IDLE] == 0.0
        state = after


def seat(env, env_id: str, j: int) -> SeatInfo:
    return SeatInfo.of_env(env, env_id, j, focal_seats=(0,))


def play_episode(env, agent, coplayers, seed: int) -> tuple[float, dict[int, str | None]]:
    """One episode, HOP at seat 0; returns its return and what each co-player captured (read
    from the env's own infos, independently of the agent)."""
    observations, _ = env.reset(seed=seed)
    agent.start_episode()
    for player in coplayers.values():
        player.start_episode()
    captured: dict[int, str | None] = {j: None for j in coplayers}
    total = 0.0
    while env.agents:
        actions = {
            a: agent.act(observations[a])
            if a == "player_0"
            else coplayers[int(a[7:])].act(observations[a])
            for a in env.agents
        }
        observations, rewards, terms, truncs, infos = env.step(actions)
        transition = Transition(actions, observations, rewards, terms, truncs, infos)
        agent.observe(transition)
        for player in coplayers.values():
            player.observe(transition)
        total += float(rewards.get("player_0", 0.0))
        for a, info in infos.items():
            if a != "player_0" and info.get("captured"):
                captured[int(a[7:])] = info["captured"]
    agent.end_episode()
    for player in coplayers.values():
        player.end_episode()
    return total, captured


def test_the_inter_episode_prior_moves_with_what_each_coplayer_captured() -> None:
    # After one episode, a co-player that captured prey of kind g spent every step pursuing
    # it (pursuing fraction 1), so with pseudo-count 1 and the uninformed values (pursue 1,
    # kinds uniform) the next prior is pursue = (1 + 1) / 2 = 1 and preference
    # = (one-hot(g) + 0.5) / 2: 0.75 on g, 0.25 on the other kind, 0 on IDLE. One that
    # captured nothing was labelled IDLE throughout: pursue = (0 + 1) / 2 = 0.5, kinds
    # uniform: 0.25 / 0.25 / 0.5.
    env_id = "hop/MarkovStagHunt-v0"
    env = hop_envs.make(env_id)
    agent = HopAgent(weights=None, num_trees=2, num_simulations=4, rollout_depth=5)
    agent.reset(seed=0, seat=seat(env, env_id, 0))
    coplayers = {j: make_coplayer("nearest-stag", env_id) for j in (1, 2, 3)}
    for j, player in coplayers.items():
        player.reset(seed=j, seat=seat(env, env_id, j))
    _, captured = play_episode(env, agent, coplayers, seed=3)
    assert any(captured.values())  # nearest-stag hunters catch the stag in this episode
    observations, _ = env.reset(seed=4)
    agent.start_episode()
    agent.act(observations["player_0"])  # starts episode 2: beliefs at the inter-OM prior
    names = {"stag": STAG, "hare": HARE}
    for j, kind in captured.items():
        prior = agent.beliefs.prior(j)
        if kind is None:
            want = {STAG: 0.25, HARE: 0.25, IDLE: 0.5}
        else:
            other = HARE if names[kind] == STAG else STAG
            want = {names[kind]: 0.75, other: 0.25, IDLE: 0.0}
        assert prior == pytest.approx(want, abs=1e-12), (j, kind)


@pytest.mark.slow
@pytest.mark.parametrize("scenario_name", ["msh/adapt-hidden", "msg/adapt-hidden"])
def test_the_last_episodes_of_hidden_type_trials_score_at_least_the_first(
    scenario_name: str,
) -> None:
    # HOP with its shipped weights and acting defaults; each trial draws the co-players'
    # hidden kind. Within a trial HOP learns who they are (intra-OM within an episode,
    # inter-OM across episodes, its opponent model trained after every episode), so its
    # mean return over the last two episodes, pooled over trials, must be at least that
    # of the first two. The margin is thin: it was a strict expected failure up to commit
    # 50d3819 (earlier acting defaults), and at 10 x 10 HOP's within-trial change there is
    # flat within noise, as the oracle's is (docs/hop.md, "Does HOP adapt across the
    # episodes of a trial?").
    from evaluation.jobs import AgentSpec, TrialJob
    from evaluation.runner import run_trial
    from evaluation.scenarios import load_scenario

    scenario = load_scenario(scenario_name)
    trials, episodes = 8, 6
    first, last = [], []
    for trial in range(trials):
        job = TrialJob(AgentSpec("hop", {}), scenario, seed=0, trial=trial, episodes=episodes)
        focal = [np.mean([r.returns[s] for s in r.focal_seats]) for r in run_trial(job)]
        first.append(np.mean(focal[:2]))
        last.append(np.mean(focal[-2:]))
    assert np.mean(last) >= np.mean(first), (first, last)
