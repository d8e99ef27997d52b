"""What a scenario *is*: :class:`Scenario`, :class:`CoplayerSpec` and their validation.

This module is the bottom of the scenario layers, and imports neither of the others::

    evaluation.scenario_types   Scenario, CoplayerSpec, ScenarioFieldError (this module)
    evaluation.scenario_files   TOML files -> Scenario, errors with file, line and field
    evaluation.scenarios        the registry, the generated families, load_scenario()

Import these names from :mod:`evaluation.scenarios` (which re-exports them) or from here.

A background seat holds a *co-player entry*: a registered name or ``module:Class`` path
(plain text), or a :class:`CoplayerSpec` when the co-player is built with keyword arguments.
Entries are kept in a canonical form: a spec without arguments is stored as its name, so a
scenario's :meth:`Scenario.definition` (hashed into the keys of stored results) is the same
list of names it has always been, and only entries with arguments serialise as objects
``{"name": ..., "kwargs": {...}}``.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import hop_envs
from evaluation.jsondata import to_jsonable
from hop_envs.coplayers import HELD_OUT, TRAINING, coplayer_names, make_coplayer
from hop_envs.registration import full_env_id
from hop_envs.registry import UnknownNameError

DEFAULT_EPISODES = 10
DEFAULT_TRIALS = 10
#: Env arguments a scenario may not set (the runner owns rendering).
_RESERVED_ENV_KWARGS = ("render_mode",)

#: Scenario families: the generated scenarios of the training population (``adapt-*``,
#: ``selfplay``), those of the held-out population (``heldout-*``), and everything else
#: (users' files, plug-ins, scenarios made in code).
TRAINING_FAMILY, HELD_OUT_FAMILY, USER_FAMILY = TRAINING, HELD_OUT, "user"
FAMILIES = (TRAINING_FAMILY, HELD_OUT_FAMILY, USER_FAMILY)

#: The keys of a co-player table (``{name = "...", kwargs = {...}}`` in TOML).
SPEC_KEYS = ("name", "kwargs")


class ScenarioFieldError(ValueError):
    """A bad scenario field; ``field`` names it (``env_kwargs.<arg>`` for an env argument).

    ``needles`` are words of the offending value (a co-player's name, its argument names),
    so that a scenario file can point at the line of one entry in a long list.
    """

    def __init__(self, message: str, field: str, needles: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.needles = tuple(needles)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.field, self.needles))


def _json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class CoplayerSpec:
    """A co-player and the keyword arguments it is built with.

    ``name`` is a registered co-player name or a ``module:Class`` path; ``kwargs`` must be
    JSON-able (they are part of the scenario's definition) and are stored in their JSON form
    (tuples become lists, keys are sorted), so what is built is exactly what is hashed.
    :attr:`label` names the co-player in records and tables: ``patient-stag(patience=3)``
    (the name alone without arguments).

    >>> CoplayerSpec("patient-stag", {"patience": 3}).label
    'patient-stag(patience=3)'
    """

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(
                f"a co-player needs a name (a registered name or 'module:Class'), got {self.name!r}"
            )
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(
                f"co-player {self.name!r}: kwargs must be a table of argument names to values, "
                f"got {self.kwargs!r}"
            )
        for key in self.kwargs:
            if not isinstance(key, str) or not key.isidentifier():
                raise ValueError(
                    f"co-player {self.name!r}: argument names must be identifiers, got {key!r}"
                )
        plain = to_jsonable(dict(self.kwargs))
        try:
            _json_text(plain)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"co-player {self.name!r}: kwargs must be JSON-able (numbers, text, booleans, "
                f"lists and tables), got {dict(self.kwargs)!r} ({err})"
            ) from None
        object.__setattr__(self, "kwargs", plain)

    def __hash__(self) -> int:
        return hash((self.name, _json_text(self.kwargs)))

    @property
    def label(self) -> str:
        """``name``, or ``name(k=v,...)`` with the arguments (values as JSON)."""
        if not self.kwargs:
            return self.name
        args = ",".join(
            f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in sorted(self.kwargs.items())
        )
        return f"{self.name}({args})"

    def definition(self) -> str | dict[str, Any]:
        """JSON-able: the name alone without arguments, else ``{"name", "kwargs"}``."""
        if not self.kwargs:
            return self.name
        return {"name": self.name, "kwargs": to_jsonable(self.kwargs)}

    def build(self, env_id: str) -> Any:
        """A new co-player for ``env_id`` (each gets its own copy of the arguments)."""
        return make_coplayer(self.name, env_id, **copy.deepcopy(dict(self.kwargs)))

    @classmethod
    def from_data(cls, data: object) -> CoplayerSpec:
        """A spec from a name, a spec, or a table ``{"name": ..., "kwargs": {...}}``."""
        if isinstance(data, CoplayerSpec):
            return data
        if isinstance(data, str):
            return cls(data)
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in SPEC_KEYS]
            if unknown:
                close = difflib.get_close_matches(str(unknown[0]), SPEC_KEYS, n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"unknown key {unknown[0]!r} in a co-player table{hint} A co-player table "
                    "has 'name' and optionally 'kwargs', e.g. "
                    '{name = "patient-stag", kwargs = {patience = 3}}'
                )
            if "name" not in data:
                raise ValueError(f"a co-player table needs a 'name', got {dict(data)!r}")
            return cls(data["name"], data.get("kwargs", {}))
        raise ValueError(
            "a co-player is a name, a 'module:Class' path or a table "
            f"{{name = ..., kwargs = {{...}}}}, got {data!r}"
        )


#: A background seat's co-player as a scenario stores it: a name, or a spec with arguments.
CoplayerEntry = str | CoplayerSpec


def coplayer_spec(entry: CoplayerEntry) -> CoplayerSpec:
    """``entry`` as a :class:`CoplayerSpec` (a name becomes a spec without arguments)."""
    return entry if isinstance(entry, CoplayerSpec) else CoplayerSpec(entry)


def coplayer_label(entry: CoplayerEntry) -> str:
    """The name a record stores for ``entry`` (see :attr:`CoplayerSpec.label`)."""
    return coplayer_spec(entry).label


def _entry_definition(entry: CoplayerEntry) -> str | dict[str, Any]:
    return entry if isinstance(entry, str) else entry.definition()


def _needles(entry: object) -> tuple[str, ...]:
    """Words of a co-player entry by which a scenario file finds its line."""
    if isinstance(entry, str):
        return (entry,)
    if isinstance(entry, CoplayerSpec):
        return (entry.name, *entry.kwargs)
    if isinstance(entry, Mapping):
        name = entry.get("name")
        kwargs = entry.get("kwargs")
        words = [name] if isinstance(name, str) else []
        words += [str(k) for k in entry if k not in SPEC_KEYS]
        words += [str(k) for k in kwargs] if isinstance(kwargs, Mapping) else []
        return tuple(words)
    if isinstance(entry, bool | int | float):
        return (json.dumps(entry),)  # as TOML and JSON write it: 3, 2.5, true
    return ()


def check_coplayer_name(name: object, env_id: str, where: str) -> str:
    """A registered co-player of ``env_id`` or a ``module:Class`` path, else ``ValueError``."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} must be a co-player name or 'module:Class', got {name!r}")
    if ":" in name:
        module, _, attr = name.partition(":")
        if not module or not attr:
            raise ValueError(f"{where} must look like 'package.module:Class', got {name!r}")
        return name
    known = coplayer_names(env_id)
    if name not in known:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"{where}: unknown co-player {name!r} for {env_id}{hint} Known co-players: "
            f"{', '.join(known)}; or give a 'module:Class' path"
        )
    return name


def check_coplayer(entry: object, env_id: str, where: str) -> CoplayerEntry:
    """A co-player entry in canonical form (a name, or a spec with arguments).

    The name is checked like :func:`check_coplayer_name`; a co-player with arguments is
    built once for ``env_id``, so bad arguments fail here and not in the middle of a run.
    ``ValueError`` (naming ``where``) on any problem.
    """
    if isinstance(entry, str):
        return check_coplayer_name(entry, env_id, where)
    try:
        spec = CoplayerSpec.from_data(entry)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    check_coplayer_name(spec.name, env_id, where)
    if not spec.kwargs:
        return spec.name
    try:
        spec.build(env_id)
    except Exception as err:  # whatever the co-player's constructor raises: a bad argument
        raise ValueError(
            f"{where}: co-player {spec.label} cannot be built for {env_id}: "
            f"{type(err).__name__}: {err}"
        ) from None
    return spec


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


def _is_single(entry: object) -> bool:
    """Whether ``entry`` names one co-player (not a list of them)."""
    return isinstance(entry, str | Mapping | CoplayerSpec)


def _is_empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 0)


@dataclass(frozen=True)
class Scenario:
    """An env, its focal seats and background population, and the default budget.

    ``background`` has one entry per non-focal seat, in seat order. An entry is a co-player
    (a registered name, a ``module:Class`` path, a :class:`CoplayerSpec` or a table
    ``{"name": ..., "kwargs": {...}}``) or a list of co-players: a *pool* from which one is
    drawn per trial and per seat with the trial's seed. For convenience a single co-player
    (or a single pool given in a one-element list) fills every background seat. It is stored
    as a tuple of pools (tuples of entries; see the module doc for the canonical form).

    ``lineups`` draws a *whole line-up* per trial instead: it is a list of complete
    backgrounds (one co-player per non-focal seat each, a single co-player filling every
    seat), and each trial plays against one of them, drawn with the trial's seed, so every
    background seat of a trial can share one hidden kind. Give ``background`` or
    ``lineups``, not both; a line-up named twice is drawn twice as often.

    ``episodes`` is the few-shot window K (episodes per trial, same co-players throughout)
    and ``trials`` the number of independent trials; both are the default budget and may
    be overridden per run. ``family`` says where the scenario comes from: ``"training"`` or
    ``"held-out"`` for the generated ones (:mod:`evaluation.scenarios`), ``"user"`` for every
    other; it is a label, not part of :meth:`definition`.
    """

    name: str
    env_id: str
    focal_seats: tuple[int, ...]
    background: tuple[tuple[CoplayerEntry, ...], ...] = ()
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    episodes: int = DEFAULT_EPISODES
    trials: int = DEFAULT_TRIALS
    description: str = ""
    lineups: tuple[tuple[CoplayerEntry, ...], ...] = ()
    family: str = USER_FAMILY
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
        checked: dict[Any, CoplayerEntry] = {}
        if _is_empty(self.lineups):
            object.__setattr__(self, "lineups", ())
            object.__setattr__(self, "background", self._normalise_background(where, checked))
        else:
            if not _is_empty(self.background):
                raise ScenarioFieldError(
                    f"{where}: give either background (co-players per seat) or lineups "
                    "(whole line-ups drawn per trial), not both",
                    "lineups",
                )
            object.__setattr__(self, "background", ())
            object.__setattr__(self, "lineups", self._normalise_lineups(where, checked))
        for name in ("episodes", "trials"):
            object.__setattr__(self, name, _check_positive_int(getattr(self, name), where, name))
        if not isinstance(self.description, str):
            raise ScenarioFieldError(
                f"{where}: description must be text, got {self.description!r}", "description"
            )
        if self.family not in FAMILIES:
            raise ScenarioFieldError(
                f"{where}: family must be one of {list(FAMILIES)}, got {self.family!r}", "family"
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

    def _entry(
        self,
        entry: object,
        where: str,
        field: str,
        checked: dict[Any, CoplayerEntry],
        siblings: Sequence[object] = (),
    ) -> CoplayerEntry:
        """One checked co-player entry (each distinct entry is checked, and built, once);
        the names of ``siblings`` (the rest of its pool) help a file find its line."""
        key: tuple[str, str] | None
        try:
            if isinstance(entry, str):
                key = ("name", entry)
            elif isinstance(entry, CoplayerSpec):
                key = ("data", _json_text(entry.definition()))
            else:
                key = ("data", _json_text(to_jsonable(entry)))
        except (TypeError, ValueError):
            key = None
        if key is not None and key in checked:
            return checked[key]
        try:
            result = check_coplayer(entry, self.env_id, where)
        except ValueError as err:
            context = [e for e in siblings if e is not entry and isinstance(e, str)]
            raise ScenarioFieldError(str(err), field, (*_needles(entry), *context)) from None
        if key is not None:
            checked[key] = result
        return result

    def _per_seat(self, raw: Any, where: str, field: str, what: str, unit: str) -> list[Any]:
        """``raw`` as one item per background seat (a single item fills every seat)."""
        seats = self.background_seats
        if _is_single(raw):
            raw = [raw] * len(seats)
        elif isinstance(raw, Sequence) and len(raw) == 1 and len(seats) > 1:
            raw = list(raw) * len(seats)
        if not isinstance(raw, Sequence):
            raise ScenarioFieldError(
                f"{where}: {what} must be a list of co-players, got {raw!r}", field
            )
        if len(raw) != len(seats):
            raise ScenarioFieldError(
                f"{where}: {what} must give {unit} per non-focal seat "
                f"{list(seats)}, got {len(raw)} entries: {list(raw)!r}",
                field,
            )
        return list(raw)

    def _normalise_background(
        self, where: str, checked: dict[Any, CoplayerEntry]
    ) -> tuple[tuple[CoplayerEntry, ...], ...]:
        raw = self._per_seat(
            self.background, where, "background", "background", "one co-player (or pool)"
        )
        entries = []
        for seat, entry in zip(self.background_seats, raw, strict=True):
            pool = (entry,) if _is_single(entry) else entry
            if not isinstance(pool, Sequence) or not pool:
                raise ScenarioFieldError(
                    f"{where}: background of seat {seat} must be a co-player name or a "
                    f"non-empty list of names, got {entry!r}",
                    "background",
                )
            seat_where = f"{where}: background of seat {seat}"
            entries.append(
                tuple(self._entry(e, seat_where, "background", checked, pool) for e in pool)
            )
        return tuple(entries)

    def _normalise_lineups(
        self, where: str, checked: dict[Any, CoplayerEntry]
    ) -> tuple[tuple[CoplayerEntry, ...], ...]:
        raw = self.lineups
        if _is_single(raw) or not isinstance(raw, Sequence):
            raise ScenarioFieldError(
                f"{where}: lineups must be a list of line-ups (each one co-player per "
                f"non-focal seat, or one co-player for every seat), got {raw!r}",
                "lineups",
            )
        if not self.background_seats:
            raise ScenarioFieldError(
                f"{where}: every seat is focal, so there is no background to draw line-ups for",
                "lineups",
            )
        lineups = []
        for index, lineup in enumerate(raw):
            what = f"line-up {index}"
            seats = self._per_seat(lineup, where, "lineups", what, "one co-player")
            entries = []
            for seat, entry in zip(self.background_seats, seats, strict=True):
                if not _is_single(entry):
                    raise ScenarioFieldError(
                        f"{where}: {what}, seat {seat}: a line-up names one co-player per "
                        f"seat (no pools), got {entry!r}",
                        "lineups",
                        _needles(entry),
                    )
                entries.append(
                    self._entry(entry, f"{where}: {what}, seat {seat}", "lineups", checked)
                )
            lineups.append(tuple(entries))
        return tuple(lineups)

    # -- derived -------------------------------------------------------------------------
    @property
    def background_seats(self) -> tuple[int, ...]:
        return tuple(s for s in range(self.num_players) if s not in self.focal_seats)

    @property
    def is_selfplay(self) -> bool:
        return not self.background_seats

    def coplayers(self) -> tuple[CoplayerSpec, ...]:
        """Every co-player that can sit in a background seat (of any pool or line-up), each
        once, in order of first appearance."""
        entries = [e for group in (*self.background, *self.lineups) for e in group]
        return tuple(dict.fromkeys(coplayer_spec(e) for e in entries))

    def draw_background(self, seed: np.random.SeedSequence) -> tuple[CoplayerSpec, ...]:
        """The co-player of each background seat for one trial, drawn with ``seed``: one
        whole line-up of :attr:`lineups`, else each pool of :attr:`background` on its own."""
        rng = np.random.default_rng(seed)
        if self.lineups:
            lineup = self.lineups[int(rng.integers(len(self.lineups)))]
            return tuple(coplayer_spec(entry) for entry in lineup)
        return tuple(
            coplayer_spec(pool[int(rng.integers(len(pool)))] if len(pool) > 1 else pool[0])
            for pool in self.background
        )

    def definition(self) -> dict[str, Any]:
        """What the scenario *is*, as JSON-able data (the budget, the description and the
        family are left out: see :func:`evaluation.jobs.config_hash`). ``lineups`` appears
        only when set, so the definitions of scenarios without it never change."""
        out: dict[str, Any] = {
            "env_id": self.env_id,
            "env_kwargs": {k: to_jsonable(v) for k, v in sorted(self.env_kwargs.items())},
            "focal_seats": list(self.focal_seats),
            "background": [[_entry_definition(e) for e in pool] for pool in self.background],
        }
        if self.lineups:
            out["lineups"] = [[_entry_definition(e) for e in lineup] for lineup in self.lineups]
        return out
