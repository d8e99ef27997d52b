"""Result storage: one SQLite row per :class:`EpisodeRecord`, written as episodes finish.

The table has one column per record field (tuples as JSON text; optional fields, such as the
``om_*`` co-player prediction scores, nullable) and a UNIQUE key on
``(agent, scenario, seed, trial, episode, config_hash)``; rows are added with
``INSERT OR IGNORE`` and committed at once, so re-running a job never duplicates a row and a
killed run loses at most the episodes that were still being played. The database runs in
WAL mode: the evaluating process writes while readers (reports, other shells) read.

A database written before some optional (nullable) fields existed is migrated when opened:
the missing columns are added (``ALTER TABLE ... ADD COLUMN``), and its rows read them as None.
"""

from __future__ import annotations

import json
import sqlite3
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from evaluation.records import EpisodeRecord

DEFAULT_DB = Path("results") / "hop-bench.sqlite"
TABLE = "episodes"
KEY = ("agent", "scenario", "seed", "trial", "episode", "config_hash")
SCHEMA_VERSION = 2


def _column_kinds() -> tuple[dict[str, str], frozenset[str]]:
    """Record field -> ``"json"``, ``"INTEGER"``, ``"REAL"`` or ``"TEXT"``, and the fields
    that may be None (``X | None``: nullable columns)."""
    hints = typing.get_type_hints(EpisodeRecord)
    kinds = {}
    nullable = set()
    for f in fields(EpisodeRecord):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint):
            rest = [h for h in typing.get_args(hint) if h is not type(None)]
            if len(rest) == 1:
                nullable.add(f.name)
                hint = rest[0]
        if typing.get_origin(hint) is tuple:
            kinds[f.name] = "json"
        elif hint is int:
            kinds[f.name] = "INTEGER"
        elif hint is float:
            kinds[f.name] = "REAL"
        elif hint is str:
            kinds[f.name] = "TEXT"
        else:  # pragma: no cover - guards a future field type nobody mapped yet
            raise TypeError(f"EpisodeRecord.{f.name}: no SQLite column type for {hint!r}")
    return kinds, frozenset(nullable)


COLUMNS, NULLABLE = _column_kinds()


class StoreError(RuntimeError):
    """The database file cannot be used (wrong schema, not a database, ...)."""


class ResultStore:
    """Episode records in a SQLite file (created with its folder if missing)."""

    def __init__(self, path: Path | str = DEFAULT_DB, timeout: float = 60.0) -> None:
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"result database {self.path} is a directory, expected a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._create()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot use {self.path} as a result database: {err}") from None

    def _create(self) -> None:
        cols = ", ".join(_column_sql(name, kind) for name, kind in COLUMNS.items())
        with self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, {cols}, "
                f"UNIQUE ({', '.join(KEY)}))"
            )
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}; this hop-bench writes "
                    f"version {SCHEMA_VERSION}"
                    + (
                        " (version 1 results are keyed without the agent's fingerprint, so "
                        "they cannot tell which code and weights made them: start a new "
                        "database with --db, or delete this one)"
                        if version == 1
                        else ""
                    )
                )
        have = [row[1] for row in self._db.execute(f"PRAGMA table_info({TABLE})")][1:]
        missing = list(COLUMNS)[len(have) :]
        if have == list(COLUMNS)[: len(have)] and missing and set(missing) <= NULLABLE:
            with self._db:  # written before these optional fields existed: add them
                for name in missing:
                    self._db.execute(
                        f"ALTER TABLE {TABLE} ADD COLUMN {_column_sql(name, COLUMNS[name])}"
                    )
            have = [row[1] for row in self._db.execute(f"PRAGMA table_info({TABLE})")][1:]
        if have != list(COLUMNS):
            raise StoreError(
                f"{self.path}: table {TABLE!r} has columns {have}, expected {list(COLUMNS)}"
            )

    # -- writing -------------------------------------------------------------------------
    def add(self, records: Iterable[EpisodeRecord]) -> int:
        """Insert the records that are not stored yet (one transaction); the number added."""
        rows = [_to_row(r) for r in records]
        if not rows:
            return 0
        names = list(COLUMNS)
        sql = (
            f"INSERT OR IGNORE INTO {TABLE} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        with self._db:
            before = self._db.total_changes
            self._db.executemany(sql, rows)
            return self._db.total_changes - before

    # -- reading -------------------------------------------------------------------------
    def stored_episodes(
        self, agent: str, scenario: str, seed: int, config_hash: str
    ) -> dict[int, set[int]]:
        """Trial -> the episode indices already stored for this agent/scenario/seed/config."""
        done: dict[int, set[int]] = {}
        rows = self._db.execute(
            f"SELECT trial, episode FROM {TABLE} "
            "WHERE agent = ? AND scenario = ? AND seed = ? AND config_hash = ?",
            (agent, scenario, seed, config_hash),
        )
        for trial, episode in rows:
            done.setdefault(trial, set()).add(episode)
        return done

    def delete(self, agent: str, scenario: str, seed: int, config_hash: str) -> int:
        """Remove every stored episode of one configuration (``--rerun``); returns how many."""
        with self._db:
            cursor = self._db.execute(
                f"DELETE FROM {TABLE} WHERE agent = ? AND scenario = ? AND seed = ? "
                "AND config_hash = ?",
                (agent, scenario, seed, config_hash),
            )
        return cursor.rowcount

    def records(self, **filters: Any) -> list[EpisodeRecord]:
        """Stored records whose scalar fields equal every given filter (``None`` ignored),
        ordered by the key, e.g. ``records(agent="hop", scenario="msg/selfplay")``."""
        return list(self.iter_records(**filters))

    def iter_records(self, **filters: Any) -> Iterator[EpisodeRecord]:
        """Like :meth:`records`, one at a time."""
        where = [(k, v) for k, v in filters.items() if v is not None]
        for k, _ in where:
            if COLUMNS.get(k, "json") == "json":
                scalar = [c for c, kind in COLUMNS.items() if kind != "json"]
                raise ValueError(f"cannot filter records by {k!r}; filter by one of {scalar}")
        clause = " AND ".join(f"{k} = ?" for k, _ in where)
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"
            + (f" WHERE {clause}" if clause else "")
            + f" ORDER BY {', '.join(KEY)}"
        )
        for row in self._db.execute(sql, [v for _, v in where]):
            yield _from_row(row)

    def latest_records(self) -> tuple[list[EpisodeRecord], list[str]]:
        """The records of the newest configuration of every (agent, scenario) (the one whose
        latest episode was stored last), and a line for each older configuration left out:
        reports show what the code and weights of today measured, and say what they hid."""
        rows = self._db.execute(
            f"SELECT agent, scenario, config_hash, package_version, MAX(id), COUNT(*) "
            f"FROM {TABLE} GROUP BY agent, scenario, config_hash"
        ).fetchall()
        newest: dict[tuple[str, str], tuple[int, str]] = {}
        for agent, scenario, chash, _, last, _ in rows:
            if (agent, scenario) not in newest or last > newest[(agent, scenario)][0]:
                newest[(agent, scenario)] = (last, chash)
        keep = {(a, s, h) for (a, s), (_, h) in newest.items()}
        hidden = [
            f"{agent} in {scenario}: {count} episode(s) of an older configuration {chash} "
            f"(hop-bench {version}) not shown; the newest is {newest[(agent, scenario)][1]}"
            for agent, scenario, chash, version, _, count in sorted(rows)
            if (agent, scenario, chash) not in keep
        ]
        records = [r for r in self.iter_records() if (r.agent, r.scenario, r.config_hash) in keep]
        return records, hidden

    def count(self) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    # -- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _column_sql(name: str, kind: str) -> str:
    """The column definition of one record field."""
    sql = f"{name} {'TEXT' if kind == 'json' else kind}"
    return sql if name in NULLABLE else f"{sql} NOT NULL"


def _to_row(record: EpisodeRecord) -> tuple[Any, ...]:
    if not isinstance(record, EpisodeRecord):
        raise TypeError(f"ResultStore.add expects EpisodeRecord, got {type(record).__name__}")
    row = []
    for name, kind in COLUMNS.items():
        value = getattr(record, name)
        row.append(json.dumps(list(value)) if kind == "json" else value)
    return tuple(row)


def _from_row(row: Sequence[Any]) -> EpisodeRecord:
    values = {}
    for (name, kind), value in zip(COLUMNS.items(), row, strict=True):
        values[name] = tuple(json.loads(value)) if kind == "json" else value
    return EpisodeRecord(**values)
