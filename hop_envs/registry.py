"""A small name -> factory registry used for co-players, agents and scenarios.

Names can also be ``module:Attr`` paths (the attribute is imported and called), and a
registry can pull in plug-ins from a Python entry-point group, so users extend it without
editing this package. Failed look-ups list the close matches.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name that no registry entry, plug-in or import path matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory with its metadata (``envs``: the env ids it supports, or
    empty for all)."""

    name: str
    factory: Callable[..., T]
    description: str = ""
    envs: tuple[str, ...] = ()

    def supports(self, env_id: str) -> bool:
        return not self.envs or env_id in self.envs


@dataclass
class Registry(Generic[T]):
    """Name -> :class:`Entry`, with ``module:Attr`` resolution and an entry-point group."""

    kind: str
    entry_point_group: str | None = None
    _entries: dict[str, Entry[T]] = field(default_factory=dict)
    _plugins_loaded: bool = False

    def register(
        self,
        name: str,
        factory: Callable[..., T],
        *,
        description: str = "",
        envs: tuple[str, ...] = (),
        replace: bool = False,
    ) -> None:
        if not name or ":" in name:
            raise ValueError(f"{self.kind} name must be non-empty and contain no ':', got {name!r}")
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, factory, description or _doc_line(factory), envs)

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._entries:
                continue
            try:
                factory = ep.load()
            except Exception as err:
                raise ImportError(
                    f"could not load {self.kind} plug-in {ep.name!r} = {ep.value!r} from "
                    f"entry-point group {self.entry_point_group!r}: {err}"
                ) from err
            self.register(ep.name, factory)

    def names(self, env_id: str | None = None) -> list[str]:
        """Registered names (those supporting ``env_id`` if given), sorted."""
        self._load_plugins()
        return sorted(n for n, e in self._entries.items() if env_id is None or e.supports(env_id))

    def entries(self) -> Iterator[Entry[T]]:
        self._load_plugins()
        for name in sorted(self._entries):
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def entry(self, name: str) -> Entry[T]:
        """The entry for ``name``, a ``module:Attr`` path wrapped as an entry."""
        self._load_plugins()
        if name in self._entries:
            return self._entries[name]
        if ":" in name:
            return Entry(name, load_attribute(name, self.kind))
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}{hint} Known {self.kind}s: "
            f"{', '.join(sorted(self._entries))}; or give a 'module:Attr' path"
        )

    def make(self, name: str, **kwargs: Any) -> T:
        """Call the factory registered under ``name`` (or found at ``module:Attr``)."""
        return self.entry(name).factory(**kwargs)


def load_attribute(path: str, kind: str = "object") -> Any:
    """Import ``module:Attr`` (``Attr`` may be dotted) with errors that name the path."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{kind} path must look like 'package.module:Attr', got {path!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise UnknownNameError(
            f"cannot import module {module_name!r} for {kind} {path!r}: {err}"
        ) from err
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UnknownNameError(
                f"module {module_name!r} has no attribute {attr!r} (from {kind} {path!r})"
            ) from None
    return obj


def _doc_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
