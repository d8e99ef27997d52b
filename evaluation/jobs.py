"""Jobs: one trial of one agent in one scenario under one base seed, and its config hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from evaluation.fingerprint import agent_fingerprint, coplayer_fingerprint
from evaluation.jsondata import to_jsonable
from evaluation.scenarios import Scenario
from evaluation.seeding import check_seed


@cache
def package_version() -> str:
    """The installed hop-bench version (``hop_envs.__version__`` in a bare checkout)."""
    try:
        return version("hop-bench")
    except PackageNotFoundError:
        import hop_envs

        return hop_envs.__version__


@dataclass(frozen=True)
class AgentSpec:
    """A focal agent: a registered name or ``module:Class`` path, and its keyword arguments.

    ``kwargs`` must be JSON-able (they are part of the config hash and travel to workers).
    """

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"agent name must be non-empty text, got {self.name!r}")
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(f"agent kwargs must be a mapping, got {self.kwargs!r}")
        try:
            json.dumps(to_jsonable(dict(self.kwargs)), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"agent {self.name!r}: kwargs must be JSON-able, got {dict(self.kwargs)!r} ({err})"
            ) from None
        object.__setattr__(self, "kwargs", dict(self.kwargs))

    @property
    def label(self) -> str:
        """The name stored in records: ``name``, or ``name(k=v,...)`` when kwargs are set, so
        that two configurations of one agent stay apart in reports."""
        if not self.kwargs:
            return self.name
        args = ",".join(
            f"{k}={json.dumps(to_jsonable(v), separators=(',', ':'))}"
            for k, v in sorted(self.kwargs.items())
        )
        return f"{self.name}({args})"


def config_hash(agent: AgentSpec, scenario: Scenario, pkg_version: str | None = None) -> str:
    """A stable 16-hex-digit hash of what decides a trial's numbers.

    It covers the scenario definition (env id, env kwargs, focal seats, background), the
    agent's name and kwargs, its fingerprint (the source of its code and the bytes of the
    weights it loads, :mod:`evaluation.fingerprint`) and the package version: changing any
    of them is a new configuration, never a silent return of old numbers. The budget
    (episodes, trials) is left out on purpose: episode ``e`` of trial ``t`` does not depend
    on it (see :mod:`evaluation.seeding`), so a run with more episodes or trials extends the stored
    results instead of starting a separate set.
    """
    payload: dict[str, Any] = {
        "scenario": scenario.definition(),
        "agent": {
            "name": agent.name,
            "kwargs": to_jsonable(dict(agent.kwargs)),
            "fingerprint": agent_fingerprint(agent.name, agent.kwargs, scenario.env_id),
        },
        "version": pkg_version if pkg_version is not None else package_version(),
    }
    backgrounds = background_fingerprints(scenario)
    if backgrounds:  # only scenarios with learned or plug-in co-players: others keep their hash
        payload["background_fingerprints"] = backgrounds
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def background_fingerprints(scenario: Scenario) -> dict[str, str]:
    """Each learned or plug-in background co-player of ``scenario`` (its name and arguments)
    -> its fingerprint (:func:`evaluation.fingerprint.coplayer_fingerprint`), so that
    retraining or editing a co-player gives the scenario's trials a new configuration."""
    out: dict[str, str] = {}
    for pool in (*scenario.background, *scenario.lineups):
        for entry in pool:
            name, kwargs = (entry, {}) if isinstance(entry, str) else (entry.name, entry.kwargs)
            key = json.dumps(
                {"name": name, "kwargs": to_jsonable(dict(kwargs))},
                sort_keys=True,
                separators=(",", ":"),
            )
            if key not in out:
                digest = coplayer_fingerprint(name, kwargs, scenario.env_id)
                if digest is not None:
                    out[key] = digest
    return out


def scenario_hash(scenario: Scenario) -> str:
    """A 16-hex-digit digest of the scenario's definition (what it is, not its budget)."""
    text = json.dumps(scenario.definition(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class TrialJob:
    """Run ``episodes`` episodes of trial ``trial``; return only episodes not in ``skip``."""

    agent: AgentSpec
    scenario: Scenario
    seed: int
    trial: int
    episodes: int
    skip: frozenset[int] = frozenset()
    config_hash: str = ""
    package_version: str = ""

    def __post_init__(self) -> None:
        check_seed(self.seed, "TrialJob.seed")
        if isinstance(self.trial, bool) or not isinstance(self.trial, int) or self.trial < 0:
            raise ValueError(f"TrialJob.trial must be an integer >= 0, got {self.trial!r}")
        if (
            isinstance(self.episodes, bool)
            or not isinstance(self.episodes, int)
            or self.episodes < 1
        ):
            raise ValueError(f"TrialJob.episodes must be an integer >= 1, got {self.episodes!r}")
        object.__setattr__(self, "skip", frozenset(self.skip))
        if not self.package_version:
            object.__setattr__(self, "package_version", package_version())
        if not self.config_hash:
            object.__setattr__(
                self, "config_hash", config_hash(self.agent, self.scenario, self.package_version)
            )

    @property
    def label(self) -> str:
        """Names the job in messages: agent, scenario, seed and trial."""
        return (
            f"agent {self.agent.label!r}, scenario {self.scenario.name!r}, "
            f"seed {self.seed}, trial {self.trial}"
        )

    @property
    def missing(self) -> int:
        """How many episodes this job will return."""
        return sum(1 for e in range(self.episodes) if e not in self.skip)
