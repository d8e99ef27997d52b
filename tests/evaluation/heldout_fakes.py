"""Fake held-out co-players for the scenario and command-line tests.

The tests must not depend on which held-out co-players the package ships, so they register
these (with :func:`install`, undone by ``monkeypatch``) and work from
``coplayer_names(..., population="held-out")`` like the package does.
"""

from __future__ import annotations

from typing import Any

import pytest

from hop_envs.coplayers import HELD_OUT, NearestHare, NearestStag, RandomCoplayer


class FakePatient(NearestStag):
    """Stag hunt: a nearest-stag seeker with a validated ``patience`` argument."""

    name = "fake-patient"

    def __init__(self, patience: int = 2) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"fake-patient: patience must be an integer >= 0, got {patience!r}")
        super().__init__()
        self.patience = patience


class FakeShy(NearestHare):
    """Stag hunt: a nearest-hare seeker."""

    name = "fake-shy"


class FakeWary(RandomCoplayer):
    """Both games: random legal actions."""

    name = "fake-wary"


FAKES = (FakePatient, FakeShy, FakeWary)
FAKE_NAMES = tuple(cls.name for cls in FAKES)


def install(monkeypatch: pytest.MonkeyPatch, extra_scenarios: bool = False) -> None:
    """Register the fakes as held-out co-players for this test; with ``extra_scenarios``
    also register the held-out scenarios generated from the registry's held-out list
    (replacing same-named ones)."""
    from hop_envs.coplayers import registry

    monkeypatch.setattr(registry.COPLAYERS, "_entries", dict(registry.COPLAYERS._entries))
    population: dict[str, Any] = dict(registry._POPULATION)
    for cls in FAKES:
        registry.COPLAYERS.register(cls.name, cls)
        population[cls.name] = HELD_OUT
    monkeypatch.setattr(registry, "_POPULATION", population)
    if extra_scenarios:
        from evaluation import scenarios

        monkeypatch.setattr(scenarios.SCENARIOS, "_entries", dict(scenarios.SCENARIOS._entries))
        for env_id in ("hop/MarkovStagHunt-v0", "hop/MarkovSnowdrift-v0"):
            for scenario in scenarios.heldout_scenarios(env_id):
                scenarios.SCENARIOS.register(
                    scenario.name,
                    scenarios._factory(scenario),
                    description=scenario.description,
                    envs=(scenario.env_id,),
                    replace=True,
                )
