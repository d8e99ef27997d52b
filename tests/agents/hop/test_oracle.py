"""oracle-mcts: planning with copies of the actual co-player objects of the trial."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import hop_envs
from agents.base import SeatInfo, Transition
from agents.hop.oracle import OracleMCTSAgent
from agents.registry import make_agent
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import TrialError, TrialRunner, run_trial
from evaluation.scenario_types import Scenario
from evaluation.scenarios import load_scenario
from hop_envs.coplayers import make_coplayer
from hop_envs.core import REMOVE, GridLayout

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
STAG_HUNT = "hop/MarkovStagHunt-v0"
SNOWDRIFT = "hop/MarkovSnowdrift-v0"
PLUGINS = "oracle_test_coplayers"


def seat_info(env_id, env_kwargs, seat, coplayers=None, names=None, focal=(0,)) -> SeatInfo:
    env = hop_envs.make(env_id, **env_kwargs)
    return SeatInfo.of_env(
        env,
        env_id,
        seat,
        env_kwargs=env_kwargs,
        focal_seats=focal,
        coplayer_names=names,
        coplayers=coplayers,
    )


def observation_of(rules, state, seat: int) -> dict:
    return {
        "observation": rules.observation(state, seat),
        "action_mask": rules.action_mask(state, seat),
        "step": np.int64(state.t),
    }


def ready(coplayer, env_id, env_kwargs, seat: int, seed: int = 0):
    """A co-player reset at ``seat`` and started on an episode, as the runner does."""
    coplayer.reset(seed=seed, seat=seat_info(env_id, env_kwargs, seat))
    coplayer.start_episode()
    return coplayer


def plugin(name: str):
    import oracle_test_coplayers

    return getattr(oracle_test_coplayers, name)()


def oracle_for(env_id, env_kwargs, coplayers: dict, seed: int = 3, **kwargs) -> OracleMCTSAgent:
    agent = OracleMCTSAgent(**kwargs)
    names = {j: type(p).__name__ for j, p in coplayers.items()}
    agent.reset(seed=seed, seat=seat_info(env_id, env_kwargs, 0, coplayers, names))
    agent.start_episode()
    return agent


def test_oracle_asks_for_privileged_info_and_is_registered() -> None:
    assert OracleMCTSAgent.wants_privileged_info is True
    assert isinstance(make_agent("oracle-mcts"), OracleMCTSAgent)
    with pytest.raises(ValueError, match="rollout_policy"):
        OracleMCTSAgent(rollout_policy="psychic")
    with pytest.raises(ValueError, match="num_simulations"):
        OracleMCTSAgent(num_simulations=0)


def test_the_runner_hands_the_live_background_objects_to_privileged_agents_only() -> None:
    job = TrialJob(AgentSpec("oracle-mcts"), load_scenario("msh/adapt-3v1-nearest-stag"), 0, 0, 1)
    trial = TrialRunner(job)
    trial.reset_players()
    for seat in (0, 1, 2):
        info = trial.players[seat].seat
        assert info.coplayers == {3: trial.players[3]}  # the other focal seats are left out
        assert info.coplayers[3] is trial.players[3]
        assert info.coplayer_names[3] == "nearest-stag"
    assert trial.players[3].seat.coplayers is None


# -- plug-in co-players without action_distribution --------------------------------------
STAG_KWARGS = {
    "num_players": 3,
    "grid_size": 5,
    "num_stags": 1,
    "num_hares": 1,
    "num_wall_pieces": 0,
}


@pytest.mark.parametrize("partner", ["StagWalker", "HareWalker"])
def test_decision_follows_what_plugin_coplayers_will_do(partner: str) -> None:
    # Focal at (2,2), the stag two steps right at (2,4), the hare two steps left at (2,0);
    # the plug-ins at (0,4) and (4,4), two steps from the stag (one shortest path each).
    # Stag walkers stand on it at t=2 and hunt at step 3: only RIGHT, RIGHT, hunt gets the
    # focal a share, 10/3 at step 3 (Q = 0.99^2 * 10/3 = 3.27), against the hare's
    # 0.99^2 * 1 = 0.98. Hare walkers head for the hare (6 steps away): the focal, alone,
    # cannot take the stag, and LEFT, LEFT, hunt takes the hare first.
    env = hop_envs.make(STAG_HUNT, **STAG_KWARGS)
    rules = env.unwrapped.rules
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    state = rules.state_from_positions(layout, [12, 4, 24], [14, 10])
    coplayers = {j: ready(plugin(partner), STAG_HUNT, STAG_KWARGS, j) for j in (1, 2)}
    assert not hasattr(coplayers[1], "action_distribution")
    agent = oracle_for(STAG_HUNT, STAG_KWARGS, coplayers, num_simulations=40)
    action = agent.act(observation_of(rules, state, 0))
    q = agent.last_search.q_values
    if partner == "StagWalker":
        assert action == RIGHT
        assert q[LEFT] < 0.99**2 + 1e-9 < 1.5 < q[RIGHT] <= 0.99**2 * 10 / 3 + 1e-9
    else:
        assert action == LEFT
        assert q[LEFT] > q[RIGHT]


def test_oracle_beats_a_hare_only_strategy_against_plugin_stag_hunters() -> None:
    # Three players; the stag needs all three, so the two StagWalker plug-ins hunt it in
    # vain until the focal joins: joining pays 10/3, a hare 1 (nearest-hare's every time).
    scenario = Scenario(
        "plugin-stag-walkers",
        STAG_HUNT,
        focal_seats=(0,),
        background=(f"{PLUGINS}:StagWalker",) * 2,
        env_kwargs={
            "num_players": 3,
            "grid_size": 5,
            "num_hares": 2,
            "num_wall_pieces": 0,
            "stag_hunters_required": 3,
            "max_cycles": 20,
        },
    )

    def mean_focal(agent: AgentSpec) -> float:
        returns = [
            r.returns[0]
            for trial in range(2)
            for r in run_trial(TrialJob(agent, scenario, seed=1, trial=trial, episodes=2))
        ]
        return float(np.mean(returns))

    oracle = mean_focal(AgentSpec("oracle-mcts", {"num_simulations": 12, "rollout_depth": 12}))
    hare_only = mean_focal(AgentSpec("nearest-hare"))
    assert hare_only == 1.0
    assert oracle == pytest.approx(10 / 3)


# -- memory --------------------------------------------------------------------------------
SNOW_KWARGS = {"num_players": 2, "grid_size": 3, "num_drifts": 2, "num_wall_pieces": 0}


@pytest.mark.parametrize("quota_used", [True, False])
def test_a_lazy_cleaners_memory_changes_the_decision(quota_used: bool) -> None:
    # 3x3 snowdrift, two players, two drifts. The focal stands on the last drift, in the
    # centre (1,1); lazy-cleaner (quota 1) stands next to it at (1,0). If it has already
    # removed its one drift this episode it free-rides from now on, so nobody else will
    # ever remove this drift: removing it now, alone, is best (+2 now; waiting only delays
    # those +2). With its quota unused it is a cleaner: it steps on at step 1 and removes
    # the drift at step 2, paying for it, so waiting pays +6 at step 2 (Q = 0.99 * 6 = 5.94)
    # and removing now only +2. A memory-less model (its first-step policy, cleaner) would
    # always wait.
    env = hop_envs.make(SNOWDRIFT, **SNOW_KWARGS)
    rules = env.unwrapped.rules
    layout = GridLayout.from_walls(np.zeros((3, 3), dtype=bool))
    lazy = ready(make_coplayer("lazy-cleaner", SNOWDRIFT), SNOWDRIFT, SNOW_KWARGS, 1)
    if quota_used:
        # Its episode so far: it stood on the drift at (1,0) and removed it.
        before = rules.state_from_positions(layout, [4, 3], [4, 3], t=0)
        assert lazy.act(observation_of(rules, before, 1)) == REMOVE
    assert lazy.removed == int(quota_used)
    # The same position either way (who removed the drift at (1,0) does not show).
    state = rules.state_from_positions(layout, [4, 3], [4, 3], object_alive=[True, False], t=1)
    agent = oracle_for(SNOWDRIFT, SNOW_KWARGS, {1: lazy}, num_simulations=30)
    action = agent.act(observation_of(rules, state, 0))
    q = agent.last_search.q_values
    if quota_used:
        assert action == REMOVE
        assert q[REMOVE] == pytest.approx(2.0)
        assert np.nanmax(np.delete(q, REMOVE)) < 2.0
    else:
        assert action != REMOVE
        assert q[REMOVE] == pytest.approx(2.0)
        assert np.nanmin(np.delete(q, REMOVE)) > 4.0


@pytest.mark.parametrize("episodes_played", [0, 1, 2])
def test_memory_from_earlier_episodes_is_in_the_copies(episodes_played: int) -> None:
    # The position of the plug-in test, with two alternators: stag in the trial's 1st and
    # 3rd episodes, hare in the 2nd (their memory: the episodes they have ended). In a stag
    # turn they are at the stag at t=2 and capture it at step 3, and the focal joins
    # (RIGHT); in a hare turn they leave the stag alone and the focal takes the hare (LEFT).
    env = hop_envs.make(STAG_HUNT, **STAG_KWARGS)
    rules = env.unwrapped.rules
    layout = GridLayout.from_walls(np.zeros((5, 5), dtype=bool))
    state = rules.state_from_positions(layout, [12, 4, 24], [14, 10])
    coplayers = {}
    for j in (1, 2):
        alternator = ready(make_coplayer("alternator", STAG_HUNT), STAG_HUNT, STAG_KWARGS, j)
        for _ in range(episodes_played):
            alternator.end_episode()
            alternator.start_episode()
        coplayers[j] = alternator
    agent = oracle_for(STAG_HUNT, STAG_KWARGS, coplayers, num_simulations=40)
    action = agent.act(observation_of(rules, state, 0))
    assert action == (LEFT if episodes_played == 1 else RIGHT)


def live_snapshot(player) -> dict:
    out = {}
    for key, value in vars(player).items():
        if isinstance(value, np.random.Generator):
            out[key] = value.bit_generator.state
        elif key != "seat":
            out[key] = copy.deepcopy(value)
    return out


def test_simulations_never_touch_the_live_coplayers() -> None:
    # Memory-based held-out co-players and plug-ins (one drawing from numpy's global
    # generator), mid-episode: after every decision their RNG states, their memory and the
    # global generator are exactly as before.
    scenario = Scenario(
        "live-untouched",
        STAG_HUNT,
        focal_seats=(0,),
        background=("patient-stag", "reciprocator", f"{PLUGINS}:GlobalRandomWalker"),
        env_kwargs={"grid_size": 6, "max_cycles": 8},
    )
    spec = AgentSpec("oracle-mcts", {"num_simulations": 6, "rollout_depth": 5})
    trial = TrialRunner(TrialJob(spec, scenario, seed=0, trial=0, episodes=1))
    trial.reset_players()
    env, players, oracle = trial.env, trial.players, trial.players[0]
    np.random.seed(7)
    decisions = 0
    for episode in range(3):  # the runner's loop, checking around every oracle decision
        observations, _ = env.reset(seed=episode)
        for player in players:
            player.start_episode()
        while env.agents:
            actions = {}
            for agent in env.agents:
                seat = trial.seat_of[agent]
                if seat == 0:
                    before = [live_snapshot(p) for p in players[1:]]
                    numpy_before = np.random.get_state(legacy=False)["state"]
                    actions[agent] = oracle.act(observations[agent])
                    decisions += oracle.last_search is not None
                    assert [live_snapshot(p) for p in players[1:]] == before
                    numpy_after = np.random.get_state(legacy=False)["state"]
                    assert numpy_after["pos"] == numpy_before["pos"]
                    assert (numpy_after["key"] == numpy_before["key"]).all()
                else:
                    actions[agent] = players[seat].act(observations[agent])
            observations, *rest = env.step(actions)
            transition = Transition(actions, observations, *rest)
            for player in players:
                player.observe(transition)
        for player in players:
            player.end_episode()
    assert decisions >= 5
    assert players[1].episodes_played == 3  # memory across episodes went on as usual


def test_a_coplayer_that_cannot_be_copied_is_refused_by_name() -> None:
    env_kwargs = {"num_players": 2, "grid_size": 4}
    env = hop_envs.make(SNOWDRIFT, **env_kwargs)
    observations, _ = env.reset(seed=0)
    locked = ready(plugin("LockedStayer"), SNOWDRIFT, env_kwargs, 1)
    agent = oracle_for(SNOWDRIFT, env_kwargs, {1: locked}, num_simulations=2)
    with pytest.raises(ValueError, match=r"'LockedStayer' at seat 1: copy.deepcopy raises"):
        agent.act(observations["player_0"])
    scenario = Scenario(
        "locked",
        SNOWDRIFT,
        focal_seats=(0,),
        background=(f"{PLUGINS}:LockedStayer",),
        env_kwargs=env_kwargs,
    )
    job = TrialJob(AgentSpec("oracle-mcts", {"num_simulations": 2}), scenario, 0, 0, 1)
    with pytest.raises(TrialError, match=rf"co-player '{PLUGINS}:LockedStayer' at seat 1"):
        list(run_trial(job))


def test_a_background_seat_without_a_live_object_is_refused() -> None:
    env = hop_envs.make(STAG_HUNT)
    observations, _ = env.reset(seed=0)
    agent = oracle_for(STAG_HUNT, {}, {1: ready(plugin("StagWalker"), STAG_HUNT, {}, 1)})
    with pytest.raises(ValueError, match=r"no live object for the co-player .* at seat 2"):
        agent.act(observations["player_0"])
    bare = OracleMCTSAgent()
    bare.reset(seed=0, seat=seat_info(STAG_HUNT, {}, 0))
    with pytest.raises(ValueError, match=r"SeatInfo.coplayers"):
        bare.act(observations["player_0"])


def test_same_seed_same_actions_with_memory_coplayers() -> None:
    # One decision against held-out co-players with memory, twice from scratch: the same
    # search to the visit count; then whole trials through the runner.
    env_kwargs = {"num_players": 3}
    env = hop_envs.make(STAG_HUNT, **env_kwargs)
    observations, _ = env.reset(seed=4)

    def decide(seed: int):
        coplayers = {
            1: ready(make_coplayer("patient-stag", STAG_HUNT), STAG_HUNT, env_kwargs, 1),
            2: ready(make_coplayer("stag-follower", STAG_HUNT), STAG_HUNT, env_kwargs, 2),
        }
        agent = oracle_for(STAG_HUNT, env_kwargs, coplayers, seed=seed, num_simulations=20)
        return agent.act(observations["player_0"]), agent.last_search.visits.tolist()

    assert decide(11) == decide(11)
    scenario = load_scenario("msg/heldout-mixed")
    spec = AgentSpec("oracle-mcts", {"num_simulations": 4, "rollout_depth": 4})

    def play():
        job = TrialJob(spec, scenario, seed=5, trial=0, episodes=2)
        return [(r.returns, r.length, r.drifts) for r in run_trial(job)]

    first = play()
    assert len(first) == 2
    assert first == play()


def test_self_play_uses_the_stand_in_for_other_focal_seats() -> None:
    scenario = load_scenario("msg/selfplay")
    spec = AgentSpec("oracle-mcts", {"num_simulations": 3, "rollout_depth": 2})
    records = list(run_trial(TrialJob(spec, scenario, seed=0, trial=0, episodes=1)))
    assert len(records) == 1 and records[0].length >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario_name", "rule_based"),
    [
        ("msh/adapt-1v3-nearest-stag", ["random", "nearest-stag", "nearest-hare"]),
        ("msg/adapt-1v3-cleaner", ["random", "free-rider", "cleaner"]),
        ("msh/heldout-1v3-patient-stag", ["random", "nearest-stag", "nearest-hare"]),
        ("msg/heldout-1v3-conditional-cleaner", ["random", "free-rider", "cleaner"]),
    ],
)
def test_oracle_does_at_least_as_well_as_every_rule_based_focal(scenario_name, rule_based):
    # Same scenario, same seeds (4 trials x 5 episodes) for every focal agent. In the
    # cleaner scenario the best possible is to free-ride on every drift (6 x 6 = 36), which
    # the free-rider also reaches, so there "at least as well" is the most anyone can do.
    # The held-out co-players act from memory: conditional cleaners clean only once
    # somebody has removed a drift, so the best is to remove one and leave the rest to them.
    scenario = load_scenario(scenario_name)

    def mean_focal(agent: str) -> float:
        returns = [
            r.returns[0]
            for trial in range(4)
            for r in run_trial(
                TrialJob(AgentSpec(agent), scenario, seed=0, trial=trial, episodes=5)
            )
        ]
        return float(np.mean(returns))

    oracle = mean_focal("oracle-mcts")
    for name in rule_based:
        assert oracle >= mean_focal(name), name
