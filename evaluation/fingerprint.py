"""What was evaluated: a fingerprint of an agent's code, arguments and weights.

A stored result must never outlive the thing it measured (DESIGN §6): editing an agent's
code or retraining its checkpoint at the same path has to give a new configuration, not the
old numbers. The fingerprint hashes

* the agent's name and keyword arguments;
* the source of the module that defines its class, and of every module of the project (and
  of the agent's own top-level package) that this module imports, directly or through other
  such modules (found with :mod:`ast`, imports inside functions included): editing the
  planner of an agent changes its fingerprint as much as editing the class;
* the bytes of the weights it loads: every keyword argument that names an existing file or
  folder, and the files a class reports through an optional ``fingerprint_paths(env_id,
  kwargs)`` class method (e.g. the shipped checkpoint a ``weights="default"`` resolves to).

Files are hashed once per process and re-read when their size or modification time
changes.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from evaluation.jsondata import to_jsonable

#: Top-level packages whose modules count as the agent's code wherever they are imported.
PROJECT_PACKAGES = ("hop_envs", "agents", "baselines", "evaluation")
#: Folders and files inside a weights folder that are not weights (training by-products).
_NOT_WEIGHTS = frozenset({"optimizers", "tensorboard", "log.csv", "__pycache__"})


def agent_fingerprint(name: str, kwargs: Mapping[str, Any], env_id: str) -> str:
    """A 16-hex-digit digest of agent ``name`` (registered name or ``module:Class``) built with
    ``kwargs`` to play ``env_id``: its code, arguments and weights (see the module doc)."""
    return _digest("agent", name, resolve_factory(name), kwargs, env_id)


def coplayer_fingerprint(name: str, kwargs: Mapping[str, Any], env_id: str) -> str | None:
    """The fingerprint of a background co-player (its code, arguments and weights), or None
    for the package's rule-based co-players: their code (``hop_envs/coplayers``) is already in
    every agent's fingerprint. Learned and plug-in co-players are code and weights outside it,
    so a scenario that uses them must change its results when they change."""
    from hop_envs.coplayers.registry import BUILTIN_COPLAYERS, COPLAYERS, HELDOUT_COPLAYERS

    if name in BUILTIN_COPLAYERS or name in HELDOUT_COPLAYERS:
        return None
    return _digest("coplayer", name, COPLAYERS.entry(name).factory, kwargs, env_id)


def _digest(kind: str, name: str, factory: Any, kwargs: Mapping[str, Any], env_id: str) -> str:
    """16 hex digits of sha256 over ``kind name``, the arguments, the code and the weights."""
    digest = hashlib.sha256()
    args = json.dumps(to_jsonable(dict(kwargs)), sort_keys=True, separators=(",", ":"))
    digest.update(f"{kind} {name}\nkwargs {args}\n".encode())
    for module, sha in code_digests(factory):
        digest.update(f"module {module} {sha}\n".encode())
    for path, sha in weight_digests(factory, kwargs, env_id):
        digest.update(f"weights {path} {sha}\n".encode())
    return digest.hexdigest()[:16]


def resolve_factory(name: str) -> Any:
    """The class (or factory) behind an agent name or ``module:Class`` path."""
    from agents.registry import AGENTS

    return AGENTS.entry(name).factory


def code_digests(factory: Any) -> list[tuple[str, str]]:
    """``(module, sha256 of its source)`` for the factory's module and the project modules it
    imports, sorted by module name."""
    own = str(getattr(factory, "__module__", "")).split(".")[0]
    allowed = frozenset({own, *PROJECT_PACKAGES} - {""})
    roots = {str(getattr(cls, "__module__", "")) for cls in _classes(factory)}
    roots = {m for m in roots if m.split(".")[0] in allowed}
    home = _project_home(own)
    seen: dict[str, str] = {}
    pending = sorted(str(m) for m in roots)
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        path = _module_file(module)
        if path is None:
            seen[module] = "unknown"
            continue
        seen[module] = _file_sha(str(path))[0]
        imported = _imports(str(path), module)
        pending += [m for m in imported if m not in seen and _is_own(m, allowed, home)]
    return sorted(seen.items())


def weight_digests(factory: Any, kwargs: Mapping[str, Any], env_id: str) -> list[tuple[str, str]]:
    """``(file, sha256)`` of every weight file the agent loads (files named relative to the
    folder that holds them), sorted."""
    paths: list[Path] = []
    for value in kwargs.values():
        if isinstance(value, str | os.PathLike) and str(value) and Path(value).exists():
            paths.append(Path(value))
    hook = getattr(factory, "fingerprint_paths", None)
    if callable(hook):
        paths += [Path(p) for p in hook(env_id, dict(kwargs))]
    digests = set()
    for root in paths:
        for file in _files_under(root):
            # named relative to the folder given, so clones in other places agree
            name = file.name if root.is_file() else file.relative_to(root).as_posix()
            digests.add((name, _file_sha(str(file))[0]))
    return sorted(digests)


# -- helpers ---------------------------------------------------------------------------------
def _project_home(package: str) -> Path | None:
    """The folder holding a plug-in's top-level module or package (its sibling modules are
    its own code too), or ``None`` when it lives among installed packages or the stdlib."""
    path = _module_file(package)
    if path is None or package in PROJECT_PACKAGES:
        return None
    home = path.parent.parent if path.name == "__init__.py" else path.parent
    installed = {Path(p).resolve() for p in sys.path if "-packages" in p} | {
        Path(os.__file__).parent.resolve()
    }
    return None if home.resolve() in installed else home.resolve()


def _is_own(module: str, allowed: frozenset[str], home: Path | None) -> bool:
    if module.split(".")[0] in allowed:
        return True
    if home is None:
        return False
    path = _module_file(module)
    return path is not None and path.resolve().is_relative_to(home)


def _classes(factory: Any) -> list[Any]:
    if inspect.isclass(factory):
        return [c for c in factory.__mro__ if c is not object]
    return [factory]


def _module_file(module: str) -> Path | None:
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    if file is None:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            return None
        file = spec.origin if spec is not None else None
    if file is None or not file.endswith(".py"):
        return None
    return Path(file)


def _files_under(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_WEIGHTS)
        for name in sorted(files):
            if name not in _NOT_WEIGHTS:
                yield Path(root) / name


def _file_sha(path: str) -> tuple[str, bytes]:
    stat = os.stat(path)
    return _cached_sha(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4096)
def _cached_sha(path: str, size: int, mtime_ns: int) -> tuple[str, bytes]:
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest(), data


def _imports(path: str, module: str) -> list[str]:
    stat = os.stat(path)
    return list(_cached_imports(path, stat.st_size, stat.st_mtime_ns, module))


@lru_cache(maxsize=4096)
def _cached_imports(path: str, size: int, mtime_ns: int, module: str) -> tuple[str, ...]:
    """The modules that ``module`` imports anywhere in its file, stdlib and third-party
    ones left out; ``from pkg import name`` counts ``pkg.name`` when that is a module."""
    source = _cached_sha(path, size, mtime_ns)[1]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            if _third_party(base):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if _module_file(candidate) is not None:
                    found.add(candidate)
    return tuple(sorted(m for m in found if m and not _third_party(m)))


def _third_party(module: str) -> bool:
    """Whether ``module`` is from the stdlib or an installed distribution (not hashed)."""
    top = module.split(".")[0]
    if top in PROJECT_PACKAGES:
        return False
    if top in sys.stdlib_module_names:
        return True
    path = _module_file(top)
    return path is None or "-packages" in str(path)
