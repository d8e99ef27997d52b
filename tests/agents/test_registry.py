"""The agent registry, and plug-ins of both entry-point groups (agents and co-players).

Plug-ins are installed as a throw-away distribution in a temporary directory put on
``sys.path``: a ``*.dist-info`` folder with ``METADATA`` and ``entry_points.txt`` naming a
module written beside it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agents.base import SeatInfo
from agents.registry import AGENTS, agent_entry, agent_names, make_agent, register_agent
from hop_envs.coplayers import (
    COPLAYERS,
    NearestStag,
    RandomCoplayer,
    coplayer_entry,
    coplayer_names,
    make_coplayer,
)
from hop_envs.registry import UnknownNameError, UnsupportedEnvError

STAG = "hop/MarkovStagHunt-v0"
SNOW = "hop/MarkovSnowdrift-v0"

PLUGIN_MODULE = """
class PlugAgent:
    '''A plug-in agent that always stays.'''

    supported_envs = ("hop/MarkovStagHunt-v0",)

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def reset(self, seed=None, seat=None):
        self.seed = seed

    def start_episode(self):
        pass

    def act(self, observation):
        return 4

    def observe(self, transition):
        pass

    def end_episode(self):
        pass


class PlugCoplayer(PlugAgent):
    supported_envs = ("hop/MarkovSnowdrift-v0",)
"""


class EchoAgent:
    """An agent defined in this test module, to be named by ``module:Class``."""

    def __init__(self, greeting: str = "hi") -> None:
        self.greeting = greeting


def write_module(directory: Path) -> str:
    """Write the plug-in module under a fresh name and return that name."""
    name = f"hop_bench_test_plugin_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(PLUGIN_MODULE)
    return name


def write_distribution(directory: Path, entry_points: dict[str, dict[str, str]]) -> None:
    """A minimal installed distribution declaring ``entry_points`` (group -> name -> value)."""
    dist = f"hop_bench_test_dist_{uuid.uuid4().hex[:10]}"
    info = directory / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    sections = [
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in names.items())
        for group, names in entry_points.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(sections))


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A directory on ``sys.path``; both registries re-scan their groups before and after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    AGENTS.reload_plugins()
    COPLAYERS.reload_plugins()
    yield tmp_path
    monkeypatch.undo()
    for name in set(sys.modules) - before:
        if name.startswith("hop_bench_test_plugin_"):
            del sys.modules[name]
    AGENTS.reload_plugins()
    COPLAYERS.reload_plugins()


# -- shipped contents ------------------------------------------------------------------------
def test_every_rule_based_coplayer_is_an_agent_with_the_same_envs():
    for name in coplayer_names(population="training"):
        if coplayer_entry(name).origin != "builtin":
            continue
        assert name in agent_names()
        assert agent_entry(name).envs == coplayer_entry(name).envs
        assert agent_entry(name).factory is coplayer_entry(name).factory
    # held-out co-players are for evaluation only: no shipped focal agent is one of them
    assert coplayer_names(population="held-out")
    assert not set(coplayer_names(population="held-out")) & set(agent_names())
    assert {"random", "nearest-stag", "nearest-hare"} <= set(agent_names(STAG))
    assert "cleaner" not in agent_names("MarkovStagHunt-v0")
    assert {"random", "free-rider", "cleaner"} <= set(agent_names(SNOW))
    assert "nearest-stag" not in agent_names(SNOW)


def test_a_coplayer_made_as_a_focal_agent_plays_through_the_protocol():
    import hop_envs

    env = hop_envs.make("MarkovStagHunt-v0")
    observations, _ = env.reset(seed=0)
    agent = make_agent("nearest-stag", env_id="MarkovStagHunt-v0")
    assert type(agent) is NearestStag
    seat = SeatInfo(
        env_id=STAG,
        agent_id="player_0",
        seat=0,
        num_players=4,
        observation_space=env.observation_space("player_0"),
        action_space=env.action_space("player_0"),
    )
    agent.reset(seed=3, seat=seat)
    action = agent.act(observations["player_0"])
    assert agent.action_distribution(observations["player_0"])[action] > 0


def test_env_restriction_of_agents():
    with pytest.raises(UnsupportedEnvError) as info:
        make_agent("nearest-stag", env_id="MarkovSnowdrift-v0")
    message = str(info.value)
    assert "agent 'nearest-stag' does not support 'hop/MarkovSnowdrift-v0'" in message
    assert "it supports hop/MarkovStagHunt-v0" in message
    assert {"cleaner", "free-rider", "random"} <= set(message.split(": ")[-1].split(", "))
    # Without env_id no check is made.
    assert type(make_agent("nearest-stag")) is NearestStag


def test_unknown_agent_gives_close_matches_and_the_known_names():
    with pytest.raises(UnknownNameError) as info:
        make_agent("nearest-stg")
    message = str(info.value)
    assert "unknown agent 'nearest-stg'; did you mean 'nearest-stag'" in message
    known = message.split("Known agents: ")[1].split("; or give a 'module:Attr' path")[0]
    assert set(known.split(", ")) == set(agent_names())
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


# -- module:Class paths ----------------------------------------------------------------------
def test_module_class_path_builds_with_kwargs():
    agent = make_agent(f"{__name__}:EchoAgent", greeting="hello")
    assert type(agent) is EchoAgent and agent.greeting == "hello"
    entry = agent_entry(f"{__name__}:EchoAgent")
    assert entry.factory is EchoAgent and entry.envs == ()


def test_bad_agent_paths_name_the_problem():
    with pytest.raises(UnknownNameError, match=r"cannot import module 'no_such_module_q'"):
        make_agent("no_such_module_q:Agent")
    with pytest.raises(UnknownNameError, match=r"module '.*' has no attribute 'Nope'"):
        make_agent(f"{__name__}:Nope")
    with pytest.raises(TypeError, match=r":STAG' \(import path\) is str, not a class or factory"):
        make_agent(f"{__name__}:STAG")
    with pytest.raises(TypeError, match=r"agent must be given by name or 'module:Attr' path"):
        make_agent(3)


# -- lazy registration -----------------------------------------------------------------------
def test_lazy_registration_imports_only_when_made(plugin_dir):
    module = write_module(plugin_dir)
    entry = register_agent(
        "lazy-test-agent", f"{module}:PlugAgent", envs=("MarkovStagHunt-v0",), description="x"
    )
    try:
        assert entry.is_lazy and entry.envs == (STAG,)
        assert "lazy-test-agent" in agent_names(STAG)
        assert "lazy-test-agent" not in agent_names(SNOW)
        assert agent_entry("lazy-test-agent").description == "x"
        assert module not in sys.modules
        agent = make_agent("lazy-test-agent", env_id=STAG, depth=3)
        assert module in sys.modules
        assert type(agent).__name__ == "PlugAgent" and agent.kwargs == {"depth": 3}
        assert not entry.is_lazy
    finally:
        AGENTS.unregister("lazy-test-agent")


def test_lazy_registration_of_a_missing_module_fails_when_made():
    register_agent("lazy-missing", "no_such_module_r:Agent")
    try:
        assert "lazy-missing" in agent_names()
        with pytest.raises(UnknownNameError, match=r"cannot import module 'no_such_module_r'"):
            make_agent("lazy-missing")
    finally:
        AGENTS.unregister("lazy-missing")


def test_lazy_path_must_be_well_formed():
    with pytest.raises(ValueError, match=r"must look like 'package.module:Attr'.*'no_colon'"):
        register_agent("bad-lazy", "no_colon")
    assert "bad-lazy" not in agent_names()


def test_registering_twice_needs_replace():
    register_agent("twice", EchoAgent)
    try:
        with pytest.raises(ValueError, match=r"agent 'twice' is already registered"):
            register_agent("twice", EchoAgent)
        register_agent("twice", RandomCoplayer, replace=True)
        assert type(make_agent("twice")) is RandomCoplayer
    finally:
        AGENTS.unregister("twice")


def test_import_agents_does_not_import_torch():
    code = (
        "import sys, agents, agents.registry as r, hop_envs.coplayers\n"
        "names = r.agent_names()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- entry-point plug-ins --------------------------------------------------------------------
def test_entry_point_plugins_of_both_groups(plugin_dir):
    module = write_module(plugin_dir)
    write_distribution(
        plugin_dir,
        {
            "hop_bench.agents": {"plug-agent": f"{module}:PlugAgent"},
            "hop_bench.coplayers": {"plug-coplayer": f"{module}:PlugCoplayer"},
        },
    )
    assert "plug-agent" in agent_names()
    assert "plug-coplayer" in coplayer_names()
    assert "plug-coplayer" not in agent_names()  # groups are separate
    entry = agent_entry("plug-agent")
    assert "entry point 'plug-agent' in group 'hop_bench.agents'" in entry.origin
    assert module not in sys.modules  # listed without importing

    agent = make_agent("plug-agent", level=2)
    assert module in sys.modules
    assert type(agent).__name__ == "PlugAgent" and agent.kwargs == {"level": 2}

    coplayer = make_coplayer("plug-coplayer", "MarkovSnowdrift-v0")
    assert type(coplayer).__name__ == "PlugCoplayer"
    # The class declares supported_envs, so the wrong env is refused once it is loaded.
    with pytest.raises(UnsupportedEnvError, match=r"'plug-coplayer' does not support"):
        make_coplayer("plug-coplayer", "MarkovStagHunt-v0")
    with pytest.raises(UnsupportedEnvError, match=r"'plug-agent' does not support"):
        make_agent("plug-agent", env_id=SNOW)


def test_plugins_disappear_with_their_distribution(plugin_dir):
    module = write_module(plugin_dir)
    write_distribution(plugin_dir, {"hop_bench.agents": {"gone-agent": f"{module}:PlugAgent"}})
    assert "gone-agent" in agent_names()
    (plugin_dir / f"{module}.py").unlink()
    for info in plugin_dir.glob("*.dist-info"):
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
    AGENTS.reload_plugins()
    assert "gone-agent" not in agent_names()


def test_a_broken_plugin_is_listed_and_fails_clearly_when_made(plugin_dir):
    write_distribution(
        plugin_dir, {"hop_bench.coplayers": {"broken-coplayer": "no_such_module_s:Player"}}
    )
    assert "broken-coplayer" in coplayer_names()
    with pytest.raises(UnknownNameError) as info:
        make_coplayer("broken-coplayer", STAG)
    message = str(info.value)
    assert "cannot import module 'no_such_module_s'" in message
    assert "entry point 'broken-coplayer' in group 'hop_bench.coplayers'" in message


def test_a_plugin_cannot_shadow_a_shipped_name(plugin_dir):
    module = write_module(plugin_dir)
    write_distribution(plugin_dir, {"hop_bench.agents": {"random": f"{module}:PlugAgent"}})
    with pytest.warns(RuntimeWarning, match=r"ignoring agent plug-in 'random'.*already taken"):
        names = agent_names()
    assert "random" in names
    assert type(make_agent("random")) is RandomCoplayer
    assert module not in sys.modules
