"""A small name -> factory registry used for co-players, agents and scenarios.

Names can also be ``module:Attr`` paths (the attribute is imported and called), and a
registry can pull in plug-ins from a Python entry-point group, so users extend it without
editing this package. Failed look-ups list the close matches.

Factories may be registered lazily as ``"module:Attr"`` strings: the module is imported only
when the entry is made (or its :attr:`Entry.factory` is read), so listing names never imports
heavy dependencies such as torch. Entry-point plug-ins are registered the same lazy way.

A factory (usually a class) may declare the env ids it supports in a ``supported_envs``
attribute; :meth:`Registry.make` with ``env_id=`` refuses an entry that does not support it.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: ``Entry.origin`` of entries registered in code.
BUILTIN = "builtin"


class UnknownNameError(KeyError, ValueError):
    """A name that no registry entry, plug-in or import path matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnsupportedEnvError(ValueError):
    """A registered factory asked to play an env it does not declare support for."""


def _identity(env_id: str) -> str:
    return env_id


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory with its metadata.

    ``target`` is the factory or a lazy ``"module:Attr"`` string; :attr:`factory` imports it
    on first use. ``envs`` are the env ids it supports (empty: all, or not declared until the
    target is loaded). ``origin`` says where it came from (``"builtin"``, an entry point or a
    path).
    """

    name: str
    target: Callable[..., T] | str
    description: str = ""
    envs: tuple[str, ...] = ()
    origin: str = BUILTIN

    @property
    def is_lazy(self) -> bool:
        """Whether the target is an import path not imported yet."""
        return isinstance(self.target, str) and "factory" not in self.__dict__

    @functools.cached_property
    def factory(self) -> Callable[..., T]:
        """The callable that builds the object (imports a lazy target once)."""
        if not isinstance(self.target, str):
            return self.target
        where = self.origin if self.name == self.target else f"{self.name!r}, {self.origin}"
        obj = load_attribute(self.target, where)
        if not callable(obj):
            raise TypeError(
                f"{self.target!r} ({where}) is {type(obj).__name__}, not a class or factory "
                "function"
            )
        return obj

    def declared_envs(self) -> tuple[str, ...]:
        """Registered ``envs``, else the factory's ``supported_envs`` (imports a lazy target)."""
        if self.envs:
            return self.envs
        return tuple(getattr(self.factory, "supported_envs", ()) or ())

    def supports(self, env_id: str) -> bool:
        """Whether the registered ``envs`` allow ``env_id`` (never imports; see
        :meth:`declared_envs` for the loaded factory's own declaration)."""
        return not self.envs or env_id in self.envs

    def make(self, **kwargs: Any) -> T:
        return self.factory(**kwargs)


@dataclass
class Registry(Generic[T]):
    """Name -> :class:`Entry`, with ``module:Attr`` resolution and an entry-point group.

    ``env_key`` normalises env ids (both declared and asked for) before they are compared,
    e.g. ``"MarkovStagHunt-v0"`` -> ``"hop/MarkovStagHunt-v0"``.
    """

    kind: str
    entry_point_group: str | None = None
    env_key: Callable[[str], str] = _identity
    _entries: dict[str, Entry[T]] = field(default_factory=dict)
    _plugins_loaded: bool = False

    def register(
        self,
        name: str,
        factory: Callable[..., T] | str,
        *,
        description: str = "",
        envs: tuple[str, ...] | None = None,
        replace: bool = False,
        origin: str = BUILTIN,
    ) -> Entry[T]:
        """Register ``factory`` (a callable, or a lazy ``"module:Attr"`` string) as ``name``.

        ``envs`` defaults to the factory's ``supported_envs`` attribute (for callables; a lazy
        string is not imported, so give ``envs`` explicitly to restrict it in listings).
        """
        if not isinstance(name, str) or not name or ":" in name or name != name.strip():
            raise ValueError(
                f"{self.kind} name must be a non-empty string without ':' or surrounding "
                f"spaces, got {name!r}"
            )
        if isinstance(factory, str):
            _split_path(factory, f"{self.kind} {name!r}")
        elif not callable(factory):
            raise TypeError(
                f"{self.kind} {name!r}: factory must be callable or a 'module:Attr' string, "
                f"got {factory!r} ({type(factory).__name__})"
            )
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        if envs is None:
            envs = () if isinstance(factory, str) else getattr(factory, "supported_envs", ())
        if isinstance(envs, str):
            raise TypeError(f"{self.kind} {name!r}: envs must be a tuple of env ids, got {envs!r}")
        envs = tuple(self.env_key(e) for e in envs or ())
        if not description and not isinstance(factory, str):
            description = _doc_line(factory)
        entry: Entry[T] = Entry(name, factory, description, envs, origin)
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (``KeyError`` naming it if absent)."""
        if name not in self._entries:
            raise UnknownNameError(f"cannot unregister unknown {self.kind} {name!r}")
        del self._entries[name]

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            origin = _entry_point_origin(ep, self.entry_point_group)
            if ep.name in self._entries:
                warnings.warn(
                    f"ignoring {self.kind} plug-in {ep.name!r} = {ep.value!r} ({origin}): the "
                    f"name is already taken by {self._entries[ep.name].origin}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            path = f"{ep.module}:{ep.attr}" if ep.attr else ep.value
            try:
                self.register(ep.name, path, origin=origin)
            except ValueError as err:
                raise ValueError(f"bad {self.kind} plug-in {ep.name!r} ({origin}): {err}") from None

    def reload_plugins(self) -> None:
        """Forget the entry-point plug-ins and scan the group again on next use (after
        installing a package, or changing ``sys.path``, in the same process)."""
        for name in [n for n, e in self._entries.items() if e.origin.startswith("entry point")]:
            del self._entries[name]
        self._plugins_loaded = False

    def names(self, env_id: str | None = None) -> list[str]:
        """Registered names (those supporting ``env_id`` if given), sorted."""
        self._load_plugins()
        key = None if env_id is None else self.env_key(env_id)
        return sorted(n for n, e in self._entries.items() if key is None or e.supports(key))

    def entries(self) -> Iterator[Entry[T]]:
        self._load_plugins()
        for name in sorted(self._entries):
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def entry(self, name: str) -> Entry[T]:
        """The entry for ``name``, a ``module:Attr`` path wrapped as an (imported) entry."""
        if not isinstance(name, str):
            raise TypeError(
                f"{self.kind} must be given by name or 'module:Attr' path, got {name!r} "
                f"({type(name).__name__})"
            )
        self._load_plugins()
        if name in self._entries:
            return self._entries[name]
        if ":" in name:
            entry: Entry[T] = Entry(name, name, origin="import path")
            entry.factory  # import now, so a bad path fails here  # noqa: B018
            return entry
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}{hint} Known {self.kind}s: "
            f"{', '.join(sorted(self._entries))}; or give a 'module:Attr' path"
        )

    def check_env(self, entry: Entry[T], env_id: str) -> None:
        """Raise :class:`UnsupportedEnvError` unless ``entry`` supports ``env_id`` (declared
        at registration or by the loaded factory's ``supported_envs``)."""
        key = self.env_key(env_id)
        declared = tuple(self.env_key(e) for e in entry.declared_envs())
        if declared and key not in declared:
            others = [n for n, e in self._entries.items() if e.supports(key)]
            raise UnsupportedEnvError(
                f"{self.kind} {entry.name!r} does not support {key!r}; it supports "
                f"{', '.join(declared)}. {self.kind.capitalize()}s for {key}: "
                f"{', '.join(sorted(others)) or '(none)'}"
            )

    def make(self, name: str, /, *, env_id: str | None = None, **kwargs: Any) -> T:
        """Call the factory registered under ``name`` (or found at ``module:Attr``) with
        ``kwargs``; with ``env_id``, first check that the entry supports that env."""
        entry = self.entry(name)
        if env_id is not None:
            self.check_env(entry, env_id)
        return entry.make(**kwargs)


def _split_path(path: str, kind: str) -> tuple[str, str]:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr or not all(p.isidentifier() for p in attr.split(".")):
        raise ValueError(f"{kind} path must look like 'package.module:Attr', got {path!r}")
    return module_name, attr


def load_attribute(path: str, kind: str = "object") -> Any:
    """Import ``module:Attr`` (``Attr`` may be dotted) with errors that name the path."""
    module_name, attr = _split_path(path, kind)
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


def _entry_point_origin(ep: EntryPoint, group: str) -> str:
    dist = getattr(ep, "dist", None)
    where = f" of distribution {dist.name!r}" if dist is not None else ""
    return f"entry point {ep.name!r} in group {group!r}{where}"


def _doc_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""
