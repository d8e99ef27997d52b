"""The trial runner: protocol call order, memory, seats, seeds and hand-worked outcomes."""

from __future__ import annotations

import eval_test_agents as ta
import pytest

import hop_envs
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.runner import TrialError, failure_lines, run_trial
from evaluation.scenarios import Scenario, load_scenario
from evaluation.seeding import trial_seeds

REC = "eval_test_agents:RecordingAgent"
STAY = ta.STAY
MSH = "hop/MarkovStagHunt-v0"
MSG = "hop/MarkovSnowdrift-v0"


@pytest.fixture(autouse=True)
def _fresh_instances():
    ta.INSTANCES.clear()
    yield
    ta.INSTANCES.clear()


def job(scenario, agent=REC, seed=0, trial=0, episodes=3, skip=(), **kwargs):
    return TrialJob(AgentSpec(agent, kwargs), scenario, seed, trial, episodes, frozenset(skip))


def episodes_of(log):
    """Split an agent's call log into (reset entry, [per-episode entries])."""
    assert log[0][0] == "reset"
    episodes, current = [], None
    for entry in log[1:]:
        if entry[0] == "start":
            current = [entry]
        else:
            current.append(entry)
            if entry[0] == "end":
                episodes.append(current)
    return log[0], episodes


# -- hand-worked outcomes -------------------------------------------------------------------
def start_positions(scenario, seed, trial, episode):
    seeds = trial_seeds(seed, scenario.name, trial, scenario.num_players, episode + 1)
    env = hop_envs.make(scenario.env_id, **scenario.env_kwargs)
    env.reset(seed=seeds.env[episode])
    return env.core_state.player_pos.tolist()


def test_two_hare_hunters_on_a_board_of_hares():
    # 2x2 board, a hare on every cell: both players stand on a hare and hunt it at once.
    # Different hares: 1 each; the same hare: split, 0.5 each. Both leave: length 1.
    scenario = Scenario(
        "hares",
        MSH,
        focal_seats=(0, 1),
        env_kwargs={
            "num_players": 2,
            "grid_size": 2,
            "num_stags": 0,
            "num_hares": 4,
            "num_wall_pieces": 0,
        },
    )
    records = list(run_trial(job(scenario, episodes=6, action="greedy")))
    shared = 0
    for r in records:
        a, b = start_positions(scenario, 0, 0, r.episode)
        shared += a == b
        assert r.returns == ((0.5, 0.5) if a == b else (1.0, 1.0))
        assert (r.length, r.hares, r.stags, r.drifts) == (1, (1, 1), (0, 0), (0, 0))
    assert 0 < shared < 6  # seed 0 gives both cases


def test_two_removers_on_a_board_of_drifts():
    # 2x2 board, a drift on every cell, one step: each player removes the drift it stands on.
    # Two drifts removed: 6 + 6 - 4 = 8 each; one shared drift: 6 - 4/2 = 4 each.
    scenario = Scenario(
        "drifts",
        MSG,
        focal_seats=(0, 1),
        env_kwargs={"num_players": 2, "grid_size": 2, "num_drifts": 4, "max_cycles": 1},
    )
    shared = 0
    for r in run_trial(job(scenario, episodes=6, action="greedy")):
        a, b = start_positions(scenario, 0, 0, r.episode)
        shared += a == b
        assert r.returns == ((4.0, 4.0) if a == b else (8.0, 8.0))
        assert (r.length, r.drifts, r.hares) == (1, (1, 1), (0, 0))
    assert 0 < shared < 6  # seed 0 gives both cases


def test_nobody_removes_so_nothing_is_earned_until_the_time_limit():
    scenario = Scenario(
        "idle", MSG, focal_seats=(0,), background="free-rider", env_kwargs={"max_cycles": 5}
    )
    records = list(run_trial(job(scenario, episodes=3, action=4)))
    assert [r.episode for r in records] == [0, 1, 2]
    for r in records:
        assert (r.length, r.returns, r.drifts) == (5, (0.0,) * 4, (0,) * 4)
        assert r.seat_players == (f"{REC}(action=4)", "free-rider", "free-rider", "free-rider")
    (agent,) = ta.INSTANCES
    _, episodes = episodes_of(agent.log)
    assert len(episodes) == 3
    for k, ep in enumerate(episodes):
        assert [e[0] for e in ep] == ["start"] + ["act", "observe"] * 5 + ["end"]
        assert ep[0] == ("start", k) and ep[-1] == ("end", k + 1)
        assert [e[1] for e in ep if e[0] == "act"] == [0, 1, 2, 3, 4]  # the "step" seen


# -- protocol -------------------------------------------------------------------------------
def test_memory_persists_within_a_trial_and_trials_get_fresh_reset_instances():
    scenario = load_scenario("msh/adapt-3v1-random")
    for trial in (0, 1):
        list(run_trial(job(scenario, trial=trial, episodes=4)))
    assert len(ta.INSTANCES) == 6  # 3 focal seats x 2 trials, never shared
    assert len({id(a) for a in ta.INSTANCES}) == 6
    for index, agent in enumerate(ta.INSTANCES):
        trial, seat = divmod(index, 3)
        reset, episodes = episodes_of(agent.log)
        assert [e[0] for e in agent.log].count("reset") == 1
        info = reset[2]
        assert (info.seat, info.agent_id, info.num_players) == (seat, f"player_{seat}", 4)
        assert (info.env_id, info.focal_seats, dict(info.env_kwargs)) == (MSH, (0, 1, 2), {})
        assert info.coplayer_names is None
        assert reset[1] == trial_seeds(0, scenario.name, trial, 4, 4).seats[seat]
        assert [ep[0] for ep in episodes] == [("start", k) for k in range(4)]


def test_every_player_observes_every_acting_players_action():
    scenario = Scenario("all", MSG, focal_seats=(0, 1, 2, 3), env_kwargs={"max_cycles": 6})
    list(run_trial(job(scenario, episodes=2)))
    agents = ta.INSTANCES
    assert len(agents) == 4
    steps = [[e for e in a.log if e[0] in ("act", "observe")] for a in agents]
    assert all(len(s) == len(steps[0]) == 2 * 6 * 2 for s in steps)
    for i in range(0, len(steps[0]), 2):
        chosen = {f"player_{j}": steps[j][i][2] for j in range(4)}
        for j in range(4):
            observed, own = steps[j][i + 1][1], steps[j][i + 1][2]
            assert observed == chosen  # the whole joint action, every seat's real choice
            assert own == chosen[f"player_{j}"]


def test_players_that_left_stop_acting_but_observe_every_step_to_the_end():
    # 2x2 board, a hare on every cell, 3 steps. The focal greedy hare hunter captures at
    # step 1 and leaves; the background agent stays, so it plays all 3 steps. The focal agent
    # acts once and then observes all 3 joint steps: the first with both players' actions,
    # the other two with only the background player's (its own key is gone).
    scenario = Scenario(
        "leave",
        MSH,
        focal_seats=(0,),
        background="eval_test_agents:StayingRecorder",
        env_kwargs={
            "num_players": 2,
            "grid_size": 2,
            "num_stags": 0,
            "num_hares": 4,
            "num_wall_pieces": 0,
            "max_cycles": 3,
        },
    )
    (record,) = run_trial(job(scenario, episodes=1, action="greedy"))
    focal, background = ta.INSTANCES
    focal_calls = [e[0] for e in focal.log]
    assert focal_calls == ["reset", "start", "act", "observe", "observe", "observe", "end"]
    focal_observed = [e[1] for e in focal.log if e[0] == "observe"]
    assert focal_observed == [
        {"player_0": 6, "player_1": STAY},
        {"player_1": STAY},
        {"player_1": STAY},
    ]
    bg_observed = [e[1] for e in background.log if e[0] == "observe"]
    assert bg_observed == focal_observed
    assert record.length == 3
    assert record.returns == (1.0, 0.0)
    assert record.hares == (1, 0)


def test_coplayers_are_made_and_reset_per_trial_with_their_seat_seed():
    scenario = Scenario(
        "rec-bg", MSG, focal_seats=(0,), background=REC, env_kwargs={"max_cycles": 3}
    )
    for trial in (0, 1):
        list(run_trial(job(scenario, agent="random", trial=trial, episodes=2)))
    assert len(ta.INSTANCES) == 6
    for index, agent in enumerate(ta.INSTANCES):
        trial, k = divmod(index, 3)
        reset, episodes = episodes_of(agent.log)
        assert reset[2].seat == k + 1
        assert reset[1] == trial_seeds(0, "rec-bg", trial, 4, 2).seats[k + 1]
        assert len(episodes) == 2


def test_privileged_agents_get_the_names_of_the_other_seats():
    scenario = load_scenario("msh/adapt-1v3-nearest-stag")
    list(run_trial(job(scenario, agent="eval_test_agents:PrivilegedAgent", episodes=1)))
    (agent,) = ta.INSTANCES
    assert agent.log[0][2].coplayer_names == {
        1: "nearest-stag",
        2: "nearest-stag",
        3: "nearest-stag",
    }


def test_skip_returns_only_the_missing_episodes_identical_to_a_full_run():
    scenario = load_scenario("msg/adapt-1v3-cleaner")
    full = list(run_trial(job(scenario, agent="random", seed=3, trial=2, episodes=4)))
    part = list(run_trial(job(scenario, agent="random", seed=3, trial=2, episodes=4, skip={0, 2})))
    assert part == [full[1], full[3]]
    assert list(run_trial(job(scenario, agent="random", seed=3, trial=2, episodes=4))) == full


def test_more_episodes_extend_a_trial_without_changing_its_start():
    scenario = load_scenario("msh/adapt-1v3-random")
    short = list(run_trial(job(scenario, agent="random", episodes=2)))
    long = list(run_trial(job(scenario, agent="random", episodes=4)))
    assert long[:2] == short


def test_a_failing_agent_names_agent_scenario_seed_trial_and_episode():
    scenario = load_scenario("msg/adapt-1v3-random")
    with pytest.raises(TrialError) as info:
        list(run_trial(job(scenario, agent="eval_test_agents:FailsInSnowdrift", seed=5, trial=1)))
    message = str(info.value)
    assert message.startswith(
        "agent 'eval_test_agents:FailsInSnowdrift', scenario 'msg/adapt-1v3-random', "
        "seed 5, trial 1 failed in episode 0: RuntimeError: deliberate failure for the test"
    )
    assert "Traceback" in info.value.details


def test_failures_with_one_cause_share_a_line_with_their_trials_as_ranges():
    who = "agent 'a', scenario 's', seed 0"
    changed = "failed in setting up: RuntimeError: code changed"
    failures = [TrialError(f"{who}, trial {t} {changed}") for t in (9, 10, 11, 13, 2)] + [
        TrialError(f"{who}, trial 4 failed in episode 3: ValueError: bad"),
        TrialError(f"agent 'a', scenario 't', seed 0, trial 9 {changed}"),
        TrialError(f"{who}, trial 5 failed in episode 2: ValueError: bad"),
        "lost worker",
    ]
    assert failure_lines(failures) == [
        f"{who}, trials 2, 9-11, 13 (5) {changed}",
        f"{who}, trial 4 failed in episode 3: ValueError: bad",
        f"agent 'a', scenario 't', seed 0, trial 9 {changed}",
        f"{who}, trial 5 failed in episode 2: ValueError: bad",
        "lost worker",
    ]
