"""The shipped reference results and the command that makes them."""

from __future__ import annotations

import math

import pytest

from evaluation.jobs import AgentSpec, config_hash, scenario_hash
from evaluation.references import (
    MIN_RANGE,
    REFERENCE_EPISODES,
    REFERENCE_FILE,
    REFERENCE_TRIALS,
    ReferenceResult,
    make_references,
    read_references,
    reference_agents,
    scale_from,
)
from evaluation.scenarios import all_scenarios
from hop_envs.registration import ENV_IDS


def expected_pairs() -> set[tuple[str, str]]:
    return {
        (s.name, agent)
        for env_id in ENV_IDS
        for s in all_scenarios(env_id)
        for agent in reference_agents(env_id)
    }


def test_reference_agents_are_the_training_population():
    assert reference_agents("hop/MarkovStagHunt-v0") == ("nearest-hare", "nearest-stag", "random")
    assert reference_agents("MarkovSnowdrift-v0") == ("cleaner", "free-rider", "random")


def test_scale_hand_worked():
    def r(agent, mean, ci):
        return ReferenceResult("s", "hop/MarkovStagHunt-v0", agent, 30, 10, mean, ci, "d", "h")

    scale = scale_from([r("random", 1.0, 0.1), r("a", 3.0, 0.2), r("b", 0.5, 0.1)], "shipped")
    assert (scale.low, scale.high, scale.low_agent, scale.high_agent) == (0.5, 3.0, "b", "a")
    assert scale.normalize(1.75) == pytest.approx(0.5)
    # identical extremes (both deterministic): nothing to separate
    tie = scale_from([r("random", 2.0, 0.0), r("a", 2.0, 0.0)], "shipped")
    assert not tie.defined and tie.normalize(2.0) is None
    assert "too close to separate" in tie.note
    assert MIN_RANGE > 0


def test_make_references_tiny_budget(tmp_path):
    out = tmp_path / "refs.json"
    path, failures = make_references(
        out, db=tmp_path / "r.sqlite", trials=2, episodes=1, backend="serial", progress=False
    )
    assert failures == [] and path == out
    refs = read_references(out)
    got = {(r.scenario, r.agent) for rows in refs.values() for r in rows}
    assert got == expected_pairs()
    row = refs["msh/adapt-1v3-nearest-stag"][0]
    assert (row.trials, row.episodes) == (2, 1)
    scenario = next(
        s for s in all_scenarios("MarkovStagHunt-v0") if s.name == "msh/adapt-1v3-nearest-stag"
    )
    assert row.scenario_hash == scenario_hash(scenario)
    assert row.config_hash == config_hash(AgentSpec(row.agent), scenario)


@pytest.fixture(scope="module")
def shipped():
    if not REFERENCE_FILE.is_file():
        pytest.fail(f"the package ships no reference results at {REFERENCE_FILE}")
    return read_references(REFERENCE_FILE)


def test_the_shipped_references_cover_every_standard_scenario_with_the_full_budget(shipped):
    rows = [r for rows in shipped.values() for r in rows]
    assert {(r.scenario, r.agent) for r in rows} == expected_pairs()
    assert all(r.trials >= REFERENCE_TRIALS and r.episodes >= REFERENCE_EPISODES for r in rows)
    assert all(math.isfinite(r.mean) and math.isfinite(r.ci) for r in rows)


def test_the_shipped_references_are_current(shipped):
    # They must have been made by today's code of the reference agents, envs and scenarios:
    # a change to any of them changes the configuration hash; regenerate with
    # 'hop-bench references' when this fails.
    stale = []
    for env_id in ENV_IDS:
        for scenario in all_scenarios(env_id):
            for row in shipped[scenario.name]:
                current = config_hash(AgentSpec(row.agent), scenario)
                if (row.scenario_hash, row.config_hash) != (scenario_hash(scenario), current):
                    stale.append((scenario.name, row.agent))
    assert not stale, f"stale reference results (run 'hop-bench references'): {stale}"
