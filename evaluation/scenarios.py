"""Scenarios: which env, which seats are focal, who sits in the others, and the budget.

A :class:`Scenario` is the unit the evaluation protocol names (DESIGN §6). The scenarios of
two *families* are generated from the co-player registry for every env, with prefix ``msh``
for the stag hunt and ``msg`` for the snowdrift:

* family ``"training"``: the training population of co-players, on which any agent may
  train and tune:

  * ``<prefix>/adapt-1v3-<co-player>``: seat 0 focal, three co-players of one kind;
  * ``<prefix>/adapt-3v1-<co-player>``: seats 0-2 focal, one co-player in seat 3;
  * ``<prefix>/selfplay``: every seat focal;
  * ``<prefix>/adapt-hidden``: seat 0 focal; each trial draws one kind from the whole
    training population (``random`` included) and all three co-players are of that kind,
    so the focal agent must find out whom it plays with;
  * ``<prefix>/adapt-mixed``: seat 0 focal; seats 1-3 hold the first three training
    co-players in name order, one each (``msh``: nearest-hare, nearest-stag, random;
    ``msg``: cleaner, free-rider, random);

* family ``"held-out"``: the same for the held-out population (evaluation only; no shipped
  agent trains or tunes on it):

  * ``<prefix>/heldout-1v3-<co-player>``: seat 0 focal, three co-players of one kind;
  * ``<prefix>/heldout-hidden``: one kind drawn per trial from every held-out co-player;
  * ``<prefix>/heldout-mixed``: the first three held-out co-players in name order, one per
    seat (the list cycled when it has only two).

A hidden-type or mixed scenario needs at least two kinds and is left out otherwise. Every
other scenario (users' files, plug-ins, scenarios made in code) is of family ``"user"``
(:func:`scenario_family`). :func:`standard_scenarios` keeps giving the fixed line-ups of the
training population (``adapt-1v3``, ``adapt-3v1``, ``selfplay``, what the main job plays);
:func:`training_scenarios`, :func:`heldout_scenarios` and :func:`all_scenarios` give the rest.

Plug-ins add scenarios through the entry-point group ``hop_bench.scenarios`` (a zero-argument
callable returning a :class:`Scenario`), and users write their own in TOML
(:mod:`evaluation.scenario_files`). The layers: :mod:`evaluation.scenario_types` (the
dataclasses) <- :mod:`evaluation.scenario_files` (TOML) <- this module (registry, families,
:func:`load_scenario`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import hop_envs
from evaluation.scenario_files import load_scenario_file
from evaluation.scenario_types import (
    DEFAULT_EPISODES,
    DEFAULT_TRIALS,
    FAMILIES,
    HELD_OUT_FAMILY,
    TRAINING_FAMILY,
    USER_FAMILY,
    CoplayerEntry,
    CoplayerSpec,
    Scenario,
    ScenarioFieldError,
    check_coplayer,
    check_coplayer_name,
    coplayer_label,
    coplayer_spec,
)
from hop_envs.coplayers import HELD_OUT, LEARNED, TRAINING, coplayer_names, coplayer_population
from hop_envs.registration import ENV_ABBREVIATIONS, full_env_id
from hop_envs.registry import Registry, load_attribute

__all__ = [
    "DEFAULT_EPISODES",
    "DEFAULT_TRIALS",
    "FAMILIES",
    "HELD_OUT_FAMILY",
    "SCENARIOS",
    "TRAINING_FAMILY",
    "USER_FAMILY",
    "CoplayerEntry",
    "CoplayerSpec",
    "Scenario",
    "ScenarioFieldError",
    "all_scenarios",
    "check_coplayer",
    "check_coplayer_name",
    "coplayer_label",
    "coplayer_spec",
    "heldout_scenarios",
    "load_scenario",
    "register_standard_scenarios",
    "scenario_family",
    "scenario_names",
    "standard_scenarios",
    "training_scenarios",
]

#: Seats of the generated scenarios (the envs' default 4 players): seat 0 focal.
_BACKGROUND_SEATS = 3


# -- the registry --------------------------------------------------------------------------
SCENARIOS: Registry[Scenario] = Registry(
    "scenario", entry_point_group="hop_bench.scenarios", env_key=full_env_id
)


def _factory(scenario: Scenario) -> Callable[[], Scenario]:
    def make() -> Scenario:
        return scenario

    make.__doc__ = scenario.description
    return make


def _prefix(env_id: str) -> str:
    return ENV_ABBREVIATIONS[env_id.removeprefix("hop/")]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def standard_scenarios(env_id: str) -> list[Scenario]:
    """The fixed line-ups of the training population: ``adapt-1v3-*``, ``adapt-3v1-*`` for
    every training co-player of ``env_id``, ``adapt-1v3-<learner>`` for every learned
    co-player with a shipped checkpoint (:func:`learned_backgrounds`), and ``selfplay``, on
    the env's default (4-player) arguments (family ``"training"``)."""
    env_id = full_env_id(env_id)
    prefix = _prefix(env_id)
    scenarios = []
    for coplayer in coplayer_names(env_id, population=TRAINING):
        scenarios.append(_one_vs_three(env_id, "adapt", coplayer, TRAINING_FAMILY))
        scenarios.append(
            Scenario(
                name=f"{prefix}/adapt-3v1-{coplayer}",
                env_id=env_id,
                focal_seats=(0, 1, 2),
                background=(coplayer,),
                description=f"3 focal seats adapting to 1 '{coplayer}' co-player",
                family=TRAINING_FAMILY,
            )
        )
    for coplayer in learned_backgrounds(env_id):
        scenarios.append(_one_vs_three(env_id, "adapt", coplayer, TRAINING_FAMILY, "learned "))
    scenarios.append(
        Scenario(
            name=f"{prefix}/selfplay",
            env_id=env_id,
            focal_seats=(0, 1, 2, 3),
            description="every seat focal (one agent instance per seat)",
            family=TRAINING_FAMILY,
        )
    )
    return scenarios


def learned_backgrounds(env_id: str) -> list[str]:
    """The learned co-players with a shipped checkpoint for ``env_id`` (the learning
    baselines, registered as co-players of population ``"learned"``)."""
    from baselines.shipped import shipped_learners

    return [n for n in shipped_learners(env_id) if coplayer_population(n) == LEARNED]


def _one_vs_three(
    env_id: str, kind: str, coplayer: str, family: str, population: str = ""
) -> Scenario:
    """``<prefix>/<kind>-1v3-<co-player>``: seat 0 focal, three co-players of one kind."""
    return Scenario(
        name=f"{_prefix(env_id)}/{kind}-1v3-{coplayer}",
        env_id=env_id,
        focal_seats=(0,),
        background=(coplayer,) * _BACKGROUND_SEATS,
        description=f"1 focal seat adapting to 3 {population}'{coplayer}' co-players",
        family=family,
    )


def _hidden_and_mixed(
    env_id: str, kinds: Sequence[str], stem: str, family: str, population: str
) -> list[Scenario]:
    """``<prefix>/<stem>-hidden`` and ``<prefix>/<stem>-mixed`` from ``kinds`` (none with
    fewer than two kinds)."""
    if len(kinds) < 2:
        return []
    prefix = _prefix(env_id)
    mixed = tuple(kinds[i % len(kinds)] for i in range(_BACKGROUND_SEATS))
    return [
        Scenario(
            name=f"{prefix}/{stem}-hidden",
            env_id=env_id,
            focal_seats=(0,),
            lineups=tuple((kind,) for kind in kinds),
            description=(
                f"1 focal seat and 3 co-players of one hidden kind, drawn per trial from the "
                f"{population} population: {_quoted(kinds)}"
            ),
            family=family,
        ),
        Scenario(
            name=f"{prefix}/{stem}-mixed",
            env_id=env_id,
            focal_seats=(0,),
            background=mixed,
            description=f"1 focal seat and a mixed line-up of {population} co-players: "
            f"{_quoted(mixed)}",
            family=family,
        ),
    ]


def training_scenarios(env_id: str) -> list[Scenario]:
    """Family ``"training"``: :func:`standard_scenarios` and ``adapt-hidden`` (a kind drawn
    per trial from every training co-player) and ``adapt-mixed`` (the first three training
    co-players in name order, one per seat)."""
    env_id = full_env_id(env_id)
    kinds = coplayer_names(env_id, population=TRAINING)
    return [
        *standard_scenarios(env_id),
        *_hidden_and_mixed(env_id, kinds, "adapt", TRAINING_FAMILY, "training"),
    ]


def heldout_scenarios(env_id: str, coplayers: Sequence[str] | None = None) -> list[Scenario]:
    """Family ``"held-out"``: ``heldout-1v3-<co-player>`` for every held-out co-player of
    ``env_id``, ``heldout-hidden`` (a kind drawn per trial from all of them) and
    ``heldout-mixed`` (the first three in name order, one per seat; cycled when there are
    two). ``coplayers`` (sorted here) replaces the registry's held-out list."""
    env_id = full_env_id(env_id)
    kinds = sorted(coplayer_names(env_id, population=HELD_OUT) if coplayers is None else coplayers)
    scenarios = [_one_vs_three(env_id, "heldout", c, HELD_OUT_FAMILY, "held-out ") for c in kinds]
    return scenarios + _hidden_and_mixed(env_id, kinds, "heldout", HELD_OUT_FAMILY, "held-out")


def all_scenarios(env_id: str) -> list[Scenario]:
    """Every generated scenario of ``env_id``: :func:`training_scenarios` and
    :func:`heldout_scenarios` (what :data:`SCENARIOS` holds for it)."""
    return [*training_scenarios(env_id), *heldout_scenarios(env_id)]


def register_standard_scenarios() -> None:
    """Fill :data:`SCENARIOS` with the generated families of every env (idempotent)."""
    for short_id in hop_envs.ENV_IDS:
        for scenario in all_scenarios(short_id):
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


def scenario_family(scenario: Scenario | str) -> str:
    """``"training"``, ``"held-out"`` or ``"user"``: a scenario's :attr:`Scenario.family`,
    or that of the registered scenario of that name (``"user"`` for a name that is not
    registered or whose scenario cannot be made, e.g. a broken plug-in)."""
    if isinstance(scenario, Scenario):
        return scenario.family
    if scenario not in SCENARIOS:
        return USER_FAMILY
    try:
        made = SCENARIOS.make(scenario)
    except Exception:  # a plug-in that fails to load is listed, not fatal
        return USER_FAMILY
    return made.family if isinstance(made, Scenario) else USER_FAMILY


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by registered name, ``module:Attr`` path or TOML file path.

    A path (anything ending in ``.toml`` or naming an existing file) is read with
    :func:`evaluation.scenario_files.load_scenario_file`.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or Path(text).is_file():
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
