"""Scenarios: which env, which seats are focal, who sits in the others, and the budget.

A :class:`Scenario` is the unit the evaluation protocol names (DESIGN §6). The standard
families are generated from the co-player registry for every env:

* ``<prefix>/adapt-1v3-<co-player>``: seat 0 focal, three co-players of one kind;
* ``<prefix>/adapt-3v1-<co-player>``: seats 0-2 focal, one co-player in seat 3;
* ``<prefix>/selfplay``: every seat focal;

with prefix ``msh`` for the stag hunt and ``msg`` for the snowdrift. Plug-ins add scenarios
through the entry-point group ``hop_bench.scenarios`` (a zero-argument callable returning a
:class:`Scenario`), and users write their own in TOML (:mod:`evaluation.scenario_files`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import hop_envs
from evaluation.jsondata import to_jsonable
from hop_envs.registration import ENV_ABBREVIATIONS, full_env_id
from hop_envs.registry import Registry, UnknownNameError, load_attribute

DEFAULT_EPISODES = 10
DEFAULT_TRIALS = 10
#: Env arguments a scenario may not set (the runner owns rendering).
_RESERVED_ENV_KWARGS = ("render_mode",)


def _coplayer_names(env_id: str) -> list[str]:
    from hop_envs.coplayers import coplayer_names

    return list(coplayer_names(env_id))


def check_coplayer_name(name: object, env_id: str, where: str) -> str:
    """A registered co-player of ``env_id`` or a ``module:Class`` path, else ``ValueError``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} must be a co-player name or 'module:Class', got {name!r}")
    if ":" in name:
        module, _, attr = name.partition(":")
        if not module or not attr:
            raise ValueError(f"{where} must look like 'package.module:Class', got {name!r}")
        return name
    known = _coplayer_names(env_id)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"{where}: unknown co-player {name!r} for {env_id}{hint} Known co-players: "
            f"{', '.join(known)}; or give a 'module:Class' path"
        )
    return name


class ScenarioFieldError(ValueError):
    """A bad scenario field; ``field`` names it (``env_kwargs.<arg>`` for an env argument)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.field))


def _check_positive_int(value: object, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ScenarioFieldError(f"{where}: {name} must be an integer >= 1, got {value!r}", name)
    return int(value)


def _kwarg_at_fault(message: str, kwargs: Mapping[str, Any]) -> str:
    """``env_kwargs.<arg>`` for the argument an env error names first (``'quoted'`` names
    before bare ones), or ``env_kwargs`` when it names none."""
    for quote in ("'", ""):
        hits = [
            (m.start(), key)
            for key in kwargs
            if (m := re.search(rf"(?<!\w){quote}{re.escape(key)}{quote}(?!\w)", message))
        ]
        if hits:
            return f"env_kwargs.{min(hits)[1]}"
    return "env_kwargs"


@dataclass(frozen=True)
class Scenario:
    """An env, its focal seats and background population, and the default budget.

    ``background`` has one entry per non-focal seat, in seat order; each entry is a tuple of
    co-player names (registered names or ``module:Class`` paths). A one-name entry is that
    co-player; a longer entry is a pool from which one is drawn per trial with the trial's
    seed. For convenience a single name (or a single pool given as a tuple inside a
    one-element list) fills every background seat.

    ``episodes`` is the few-shot window K (episodes per trial, same co-players throughout)
    and ``trials`` the number of independent trials; both are the default budget and may
    be overridden per run.
    """

    name: str
    env_id: str
    focal_seats: tuple[int, ...]
    background: tuple[tuple[str, ...], ...] = ()
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    episodes: int = DEFAULT_EPISODES
    trials: int = DEFAULT_TRIALS
    description: str = ""
    num_players: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or ":" in self.name:
            raise ScenarioFieldError(
                f"scenario name must be non-empty text without ':', got {self.name!r}", "name"
            )
        where = f"scenario {self.name!r}"
        try:
            env_id = full_env_id(self.env_id)
        except (ValueError, AttributeError) as err:
            raise ScenarioFieldError(f"{where}: env_id: {err}", "env_id") from None
        object.__setattr__(self, "env_id", env_id)
        object.__setattr__(self, "num_players", self._check_env_kwargs(where))
        object.__setattr__(self, "focal_seats", self._check_focal_seats(where))
        object.__setattr__(self, "background", self._normalise_background(where))
        for name in ("episodes", "trials"):
            object.__setattr__(self, name, _check_positive_int(getattr(self, name), where, name))
        if not isinstance(self.description, str):
            raise ScenarioFieldError(
                f"{where}: description must be text, got {self.description!r}", "description"
            )

    def _check_env_kwargs(self, where: str) -> int:
        if not isinstance(self.env_kwargs, Mapping):
            raise ScenarioFieldError(
                f"{where}: env_kwargs must be a mapping of argument names to values, "
                f"got {self.env_kwargs!r}",
                "env_kwargs",
            )
        env_kwargs = dict(self.env_kwargs)
        for key in env_kwargs:
            if not isinstance(key, str) or key in _RESERVED_ENV_KWARGS:
                raise ScenarioFieldError(
                    f"{where}: env_kwargs may not set {key!r}", f"env_kwargs.{key}"
                )
        try:
            env = hop_envs.make(self.env_id, **env_kwargs)
        except (ValueError, TypeError) as err:
            raise ScenarioFieldError(
                f"{where}: bad env_kwargs for {self.env_id}: {err}",
                _kwarg_at_fault(str(err), env_kwargs),
            ) from None
        object.__setattr__(self, "env_kwargs", env_kwargs)
        return len(env.possible_agents)

    def _check_focal_seats(self, where: str) -> tuple[int, ...]:
        n = self.num_players
        seats = self.focal_seats
        if isinstance(seats, int | np.integer) and not isinstance(seats, bool):
            seats = (seats,)
        if isinstance(seats, str) or not isinstance(seats, Sequence):
            raise ScenarioFieldError(
                f"{where}: focal_seats must be a list of seats, got {seats!r}", "focal_seats"
            )
        for s in seats:
            if isinstance(s, bool) or not isinstance(s, int | np.integer) or not 0 <= s < n:
                raise ScenarioFieldError(
                    f"{where}: focal seat {s!r} is not a seat of this {n}-player game "
                    f"(expected integers in [0, {n - 1}])",
                    "focal_seats",
                )
        if not seats or len(set(seats)) != len(seats):
            raise ScenarioFieldError(
                f"{where}: focal_seats must name at least one seat, each once, got {list(seats)}",
                "focal_seats",
            )
        return tuple(sorted(int(s) for s in seats))

    def _normalise_background(self, where: str) -> tuple[tuple[str, ...], ...]:
        seats = self.background_seats
        raw: Any = self.background
        if isinstance(raw, str):
            raw = [raw] * len(seats)
        elif isinstance(raw, Sequence) and len(raw) == 1 and len(seats) > 1:
            raw = list(raw) * len(seats)
        if not isinstance(raw, Sequence):
            raise ScenarioFieldError(
                f"{where}: background must be a list of co-players, got {raw!r}", "background"
            )
        if len(raw) != len(seats):
            raise ScenarioFieldError(
                f"{where}: background must give one co-player (or pool) per non-focal seat "
                f"{list(seats)}, got {len(raw)} entries: {list(raw)!r}",
                "background",
            )
        entries = []
        for seat, entry in zip(seats, raw, strict=True):
            pool = (entry,) if isinstance(entry, str) else entry
            if isinstance(pool, Mapping) or not isinstance(pool, Sequence) or not pool:
                raise ScenarioFieldError(
                    f"{where}: background of seat {seat} must be a co-player name or a "
                    f"non-empty list of names, got {entry!r}",
                    "background",
                )
            try:
                entries.append(
                    tuple(
                        check_coplayer_name(n, self.env_id, f"{where}: background of seat {seat}")
                        for n in pool
                    )
                )
            except ValueError as err:
                raise ScenarioFieldError(str(err), "background") from None
        return tuple(entries)

    # -- derived -------------------------------------------------------------------------
    @property
    def background_seats(self) -> tuple[int, ...]:
        return tuple(s for s in range(self.num_players) if s not in self.focal_seats)

    @property
    def is_selfplay(self) -> bool:
        return not self.background_seats

    def draw_background(self, seed: np.random.SeedSequence) -> tuple[str, ...]:
        """The co-player of each background seat for one trial (pools sampled with ``seed``)."""
        rng = np.random.default_rng(seed)
        return tuple(
            pool[int(rng.integers(len(pool)))] if len(pool) > 1 else pool[0]
            for pool in self.background
        )

    def definition(self) -> dict[str, Any]:
        """What the scenario *is*, as JSON-able data (the budget is left out: see
        :func:`evaluation.jobs.config_hash`)."""
        return {
            "env_id": self.env_id,
            "env_kwargs": {k: to_jsonable(v) for k, v in sorted(self.env_kwargs.items())},
            "focal_seats": list(self.focal_seats),
            "background": [list(pool) for pool in self.background],
        }


# -- the registry --------------------------------------------------------------------------
SCENARIOS: Registry[Scenario] = Registry(
    "scenario", entry_point_group="hop_bench.scenarios", env_key=full_env_id
)


def _factory(scenario: Scenario) -> Callable[[], Scenario]:
    def make() -> Scenario:
        return scenario

    make.__doc__ = scenario.description
    return make


def standard_scenarios(env_id: str) -> list[Scenario]:
    """``adapt-1v3-*``, ``adapt-3v1-*`` for every rule-based co-player of ``env_id``, and
    ``selfplay``, on the env's default (4-player) arguments."""
    env_id = full_env_id(env_id)
    prefix = ENV_ABBREVIATIONS[env_id.removeprefix("hop/")]
    scenarios = []
    for coplayer in _coplayer_names(env_id):
        scenarios.append(
            Scenario(
                name=f"{prefix}/adapt-1v3-{coplayer}",
                env_id=env_id,
                focal_seats=(0,),
                background=(coplayer,) * 3,
                description=f"1 focal seat adapting to 3 '{coplayer}' co-players",
            )
        )
        scenarios.append(
            Scenario(
                name=f"{prefix}/adapt-3v1-{coplayer}",
                env_id=env_id,
                focal_seats=(0, 1, 2),
                background=(coplayer,),
                description=f"3 focal seats adapting to 1 '{coplayer}' co-player",
            )
        )
    scenarios.append(
        Scenario(
            name=f"{prefix}/selfplay",
            env_id=env_id,
            focal_seats=(0, 1, 2, 3),
            description="every seat focal (one agent instance per seat)",
        )
    )
    return scenarios


def register_standard_scenarios() -> None:
    """Fill :data:`SCENARIOS` with the standard families of every env (idempotent)."""
    for short_id in hop_envs.ENV_IDS:
        for scenario in standard_scenarios(short_id):
            if scenario.name not in SCENARIOS:
                SCENARIOS.register(
                    scenario.name,
                    _factory(scenario),
                    description=scenario.description,
                    envs=(scenario.env_id,),
                )


def scenario_names(env_id: str | None = None) -> list[str]:
    """Registered scenario names (of ``env_id`` if given)."""
    return SCENARIOS.names(None if env_id is None else full_env_id(env_id))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by registered name, ``module:Attr`` path or TOML file path.

    A path (anything ending in ``.toml`` or naming an existing file) is read with
    :func:`evaluation.scenario_files.load_scenario_file`.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or Path(text).is_file():
        from evaluation.scenario_files import load_scenario_file

        return load_scenario_file(Path(text))
    if ":" in text:
        obj = load_attribute(text, "scenario")
        scenario = obj() if callable(obj) and not isinstance(obj, Scenario) else obj
    else:
        scenario = SCENARIOS.make(text)
    if not isinstance(scenario, Scenario):
        raise TypeError(
            f"scenario {text!r} must give a evaluation.Scenario, got {type(scenario).__name__}"
        )
    return scenario


register_standard_scenarios()
