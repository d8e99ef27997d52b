"""The co-player registry: built-in rule-based co-players and user plug-ins.

Three ways to name a co-player (in scenarios, on the command line, in code):

* a registered name (see :func:`coplayer_names`): the training population ``random``,
  ``nearest-stag``, ``nearest-hare``, ``free-rider``, ``cleaner``, or a held-out
  (evaluation-only) co-player: ``patient-stag``, ``alternator``, ``reciprocator``,
  ``stag-follower`` (stag hunt), ``lazy-cleaner``, ``late-cleaner``,
  ``conditional-cleaner``, ``reciprocal-cleaner`` (snowdrift);
* a ``module:Class`` path to any class (or zero-argument factory) following the Agent
  protocol, e.g. ``my_pkg.players:Shy``;
* a plug-in of the entry-point group ``hop_bench.coplayers``, which your package declares in
  its ``pyproject.toml``::

      [project.entry-points."hop_bench.coplayers"]
      my-coplayer = "my_pkg.players:MyCoplayer"

  and which is imported only when it is made.

A co-player class may declare the env ids it plays in a ``supported_envs`` class attribute
(e.g. ``("hop/MarkovStagHunt-v0",)``); :func:`make_coplayer` refuses it for other envs.
"""

from __future__ import annotations

from typing import Any

from hop_envs.coplayers.base import CoplayerBase, RuleBasedCoplayer
from hop_envs.coplayers.heldout_snowdrift import (
    ConditionalCleaner,
    LateCleaner,
    LazyCleaner,
    ReciprocalCleaner,
)
from hop_envs.coplayers.heldout_stag_hunt import Alternator, PatientStag, Reciprocator, StagFollower
from hop_envs.coplayers.random_play import FreeRider, RandomCoplayer
from hop_envs.coplayers.seekers import Cleaner, NearestHare, NearestStag
from hop_envs.registration import full_env_id
from hop_envs.registry import Entry, Registry

#: Entry-point group through which other packages add co-players.
COPLAYER_ENTRY_POINT_GROUP = "hop_bench.coplayers"

#: The training population: the rule-based co-players of DESIGN §4, by name.
BUILTIN_COPLAYERS: dict[str, type[RuleBasedCoplayer]] = {
    cls.name: cls for cls in (RandomCoplayer, NearestStag, NearestHare, FreeRider, Cleaner)
}

#: The populations of co-players (Melting Pot's split): the public training population of
#: rule-based co-players (the reference agents and the default training partners), the
#: held-out one that only evaluation scenarios use, the learned co-players (trained agents
#: shipped as plug-ins, public like the training population), and everything else users plug
#: in.
TRAINING, HELD_OUT, LEARNED, PLUGIN = "training", "held-out", "learned", "plug-in"
POPULATIONS_KNOWN = (TRAINING, HELD_OUT, LEARNED, PLUGIN)
#: The populations a plug-in co-player may declare in a ``population`` class attribute (the
#: training population is the fixed rule-based set that defines the reference scores).
PLUGIN_POPULATIONS = (HELD_OUT, LEARNED, PLUGIN)

#: The held-out co-players (evaluation only; no shipped agent trains or tunes on them): play
#: that the first steps do not reveal (DESIGN §4), mostly memory-based, so most of them have
#: no ``action_distribution``.
HELDOUT_COPLAYERS: dict[str, type[CoplayerBase]] = {
    cls.name: cls
    for cls in (
        PatientStag,
        Alternator,
        Reciprocator,
        StagFollower,
        LazyCleaner,
        LateCleaner,
        ConditionalCleaner,
        ReciprocalCleaner,
    )
}

_POPULATION: dict[str, str] = {
    **dict.fromkeys(BUILTIN_COPLAYERS, TRAINING),
    **dict.fromkeys(HELDOUT_COPLAYERS, HELD_OUT),
}

COPLAYERS: Registry[Any] = Registry(
    "co-player", entry_point_group=COPLAYER_ENTRY_POINT_GROUP, env_key=full_env_id
)
for _name, _cls in {**BUILTIN_COPLAYERS, **HELDOUT_COPLAYERS}.items():
    COPLAYERS.register(_name, _cls)


def make_coplayer(name: str, env_id: str, **kwargs: Any) -> Any:
    """A new co-player ``name`` (registered name, plug-in or ``module:Class``) for
    ``env_id``; ``UnsupportedEnvError`` if it does not play that env. Call its
    ``reset(seed=...)`` before it acts."""
    return COPLAYERS.make(name, env_id=env_id, **kwargs)


def coplayer_names(env_id: str | None = None, population: str | None = None) -> list[str]:
    """Registered co-player names (those that play ``env_id`` if given, of ``population``
    if given: ``"training"``, ``"held-out"`` or ``"plug-in"``), sorted."""
    if population is not None and population not in POPULATIONS_KNOWN:
        raise ValueError(
            f"coplayer_names: population must be one of {list(POPULATIONS_KNOWN)}, "
            f"got {population!r}"
        )
    names = COPLAYERS.names(env_id)
    if population is None:
        return names
    return [n for n in names if coplayer_population(n) == population]


def coplayer_population(name: str) -> str:
    """``"training"`` (the rule-based training population: public, agents may train and
    tune on it), ``"held-out"`` (evaluation only), ``"learned"`` (trained agents shipped as
    co-players; public) or ``"plug-in"`` (anything else registered by a user or a plug-in,
    and ``module:Class`` paths).

    A registered plug-in declares its population with a ``population`` class attribute (one
    of :data:`PLUGIN_POPULATIONS`; reading it imports the plug-in)."""
    if name in _POPULATION:
        return _POPULATION[name]
    if ":" in name or name not in COPLAYERS:
        return PLUGIN
    declared = getattr(COPLAYERS.entry(name).factory, "population", PLUGIN)
    if declared not in PLUGIN_POPULATIONS:
        raise ValueError(
            f"co-player plug-in {name!r} declares population {declared!r}; a plug-in may "
            f"declare one of {list(PLUGIN_POPULATIONS)} (the training population is the "
            "package's rule-based co-players)"
        )
    return declared


def coplayer_entry(name: str) -> Entry[Any]:
    """The registry entry of ``name`` (description, supported envs, origin)."""
    return COPLAYERS.entry(name)


def register_coplayer(
    name: str,
    factory: Any,
    *,
    description: str = "",
    envs: tuple[str, ...] | None = None,
    replace: bool = False,
) -> Entry[Any]:
    """Register a co-player class/factory (or a lazy ``"module:Class"`` string) as ``name``."""
    return COPLAYERS.register(name, factory, description=description, envs=envs, replace=replace)
