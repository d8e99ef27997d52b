"""The agent fingerprint: code, arguments and weights make a configuration."""

from __future__ import annotations

import shutil
import sys
import textwrap

import pytest

from evaluation.evaluate import evaluate, plan
from evaluation.fingerprint import agent_fingerprint, code_digests, resolve_factory
from evaluation.jobs import AgentSpec, config_hash
from evaluation.scenarios import Scenario
from evaluation.store import ResultStore

MSH = "hop/MarkovStagHunt-v0"

AGENT_SOURCE = """
from agents.base import BaseAgent
import {helper}


class Plug(BaseAgent):
    def __init__(self, weights=None):
        super().__init__()

    def act(self, observation):
        return {helper}.ACTION
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A plug-in agent module ``plug_mod`` importing a helper module ``plug_helper``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "plug_mod.py").write_text(AGENT_SOURCE.format(helper="plug_helper"))
    (tmp_path / "plug_helper.py").write_text("ACTION = 4\n")
    yield tmp_path
    for name in ("plug_mod", "plug_helper"):
        sys.modules.pop(name, None)


def small_scenario() -> Scenario:
    return Scenario(
        "tiny",
        MSH,
        focal_seats=(0,),
        background="random",
        env_kwargs={"grid_size": 4, "num_wall_pieces": 0, "max_cycles": 3},
    )


def test_same_code_and_arguments_give_the_same_fingerprint(plugin):
    first = agent_fingerprint("plug_mod:Plug", {}, MSH)
    assert agent_fingerprint("plug_mod:Plug", {}, MSH) == first
    assert len(first) == 16


def test_arguments_change_the_fingerprint(plugin):
    assert agent_fingerprint("plug_mod:Plug", {}, MSH) != agent_fingerprint(
        "plug_mod:Plug", {"weights": "x"}, MSH
    )


def test_editing_the_class_module_or_a_module_it_imports_changes_it(plugin):
    before = agent_fingerprint("plug_mod:Plug", {}, MSH)
    (plugin / "plug_helper.py").write_text("ACTION = 4  # tuned\n")
    after_helper = agent_fingerprint("plug_mod:Plug", {}, MSH)
    assert after_helper != before
    (plugin / "plug_mod.py").write_text(AGENT_SOURCE.format(helper="plug_helper") + "\n# edit\n")
    assert agent_fingerprint("plug_mod:Plug", {}, MSH) not in (before, after_helper)


def test_the_code_covers_the_modules_a_shipped_agent_imports():
    modules = dict(code_digests(resolve_factory("hop")))
    # the class's module, its base class's module and the search it plans with
    for name in ("agents.hop.agent", "agents.hop.planning_agent", "agents.hop.planner"):
        assert name in modules
    assert "numpy" not in modules and "torch" not in modules
    rule_based = dict(code_digests(resolve_factory("nearest-stag")))
    assert "hop_envs.coplayers.seekers" in rule_based
    assert not any(m.startswith("agents.") for m in rule_based)


def test_the_bytes_of_loaded_weights_change_it(plugin):
    weights = plugin / "w.bin"
    weights.write_bytes(b"\x00" * 8)
    before = agent_fingerprint("plug_mod:Plug", {"weights": str(weights)}, MSH)
    weights.write_bytes(b"\x01" * 9)
    assert agent_fingerprint("plug_mod:Plug", {"weights": str(weights)}, MSH) != before


def test_a_weights_folder_is_hashed_by_relative_names(tmp_path, plugin):
    # Two copies of one checkpoint folder in different places fingerprint alike.
    for copy in ("a", "b"):
        (tmp_path / copy / "focal").mkdir(parents=True)
        (tmp_path / copy / "focal" / "weights.safetensors").write_bytes(b"123")
    fa = agent_fingerprint("plug_mod:Plug", {"weights": str(tmp_path / "a")}, MSH)
    fb = agent_fingerprint("plug_mod:Plug", {"weights": str(tmp_path / "b")}, MSH)
    # the kwargs differ (two paths), so compare the weights part alone
    from evaluation.fingerprint import weight_digests

    factory = resolve_factory("plug_mod:Plug")
    assert weight_digests(factory, {"weights": str(tmp_path / "a")}, MSH) == weight_digests(
        factory, {"weights": str(tmp_path / "b")}, MSH
    )
    assert fa != fb


def test_the_shipped_hop_weights_are_part_of_its_fingerprint():
    from evaluation.fingerprint import weight_digests

    names = [name for name, _ in weight_digests(resolve_factory("hop"), {}, MSH)]
    assert "focal/weights.safetensors" in names
    assert "opponent_model/weights.safetensors" in names
    assert not any(n.startswith("optimizers/") for n in names)
    assert weight_digests(resolve_factory("hop"), {"weights": None}, MSH) == []


def test_editing_an_agent_makes_the_same_evaluation_run_again(plugin, tmp_path):
    scenario = small_scenario()
    agent = AgentSpec("plug_mod:Plug")
    with ResultStore(tmp_path / "r.sqlite") as store:
        first = evaluate(agent, [scenario], store, trials=2, episodes=1, backend="serial")
        assert first.inserted == 2
        jobs, _, skipped = plan(agent, [scenario], store, trials=2, episodes=1)
        assert (len(jobs), skipped) == (0, 2)
        old_hash = config_hash(agent, scenario)
        (plugin / "plug_helper.py").write_text(textwrap.dedent("ACTION = 4\nEDITED = True\n"))
        assert config_hash(agent, scenario) != old_hash
        jobs, _, skipped = plan(agent, [scenario], store, trials=2, episodes=1)
        assert (len(jobs), skipped) == (2, 0)


def test_rerun_replaces_the_stored_results(plugin, tmp_path):
    scenario = small_scenario()
    agent = AgentSpec("plug_mod:Plug")
    with ResultStore(tmp_path / "r.sqlite") as store:
        evaluate(agent, [scenario], store, trials=2, episodes=1, backend="serial")
        again = evaluate(agent, [scenario], store, trials=2, episodes=1, backend="serial")
        assert (again.skipped_trials, again.inserted) == (2, 0)
        rerun = evaluate(
            agent, [scenario], store, trials=2, episodes=1, backend="serial", rerun=True
        )
        assert (rerun.skipped_trials, rerun.inserted) == (0, 2)
        assert store.count() == 2


def test_a_learned_background_coplayer_is_part_of_the_trial_configuration(tmp_path, monkeypatch):
    """Retraining a learned co-player must not return the old numbers of the scenarios it
    plays in; scenarios with only the package's rule-based co-players keep their hash."""
    from evaluation import jobs
    from evaluation.jobs import AgentSpec, background_fingerprints, config_hash
    from evaluation.scenarios import all_scenarios

    scenarios = {s.name: s for s in all_scenarios("hop/MarkovStagHunt-v0")}
    learned, rule_based = scenarios["msh/adapt-1v3-ppo"], scenarios["msh/adapt-1v3-random"]
    assert background_fingerprints(rule_based) == {}
    assert list(background_fingerprints(learned)) == ['{"kwargs":{},"name":"ppo"}']
    agent = AgentSpec("random")
    before, rule_based_before = (
        config_hash(agent, learned, "1"),
        config_hash(agent, rule_based, "1"),
    )
    # the same co-player with other weights (a copy of its checkpoint with one byte changed)
    from baselines.shipped import shipped_checkpoint

    copy = tmp_path / "ppo"
    shutil.copytree(shipped_checkpoint("ppo", "hop/MarkovStagHunt-v0"), copy)
    data = bytearray((copy / "policy.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "policy.safetensors").write_bytes(bytes(data))
    monkeypatch.setattr("baselines.checkpoint_agent.shipped_checkpoint", lambda *_: copy)
    assert jobs.coplayer_fingerprint("random", {}, "hop/MarkovStagHunt-v0") is None
    assert config_hash(agent, learned, "1") != before
    assert config_hash(agent, rule_based, "1") == rule_based_before
