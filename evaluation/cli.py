"""The ``hop-bench`` command line (DESIGN §6).

    hop-bench [--version] [--debug] COMMAND ...
    hop-bench list {envs,coplayers,agents,scenarios} [--env ID]
    hop-bench evaluate --agent NAME_OR_MODULE:CLASS --scenario NAME_OR_FILE [--scenario ...]
                       [--agent-arg KEY=VALUE ...] [--trials N] [--episodes K] [--seed S]
                       [--workers W] [--backend serial|process|ray] [--db PATH] [--rerun]
    hop-bench report [--db PATH] [--out DIR]
    hop-bench play --env ID [--agent NAME] [--coplayer NAME ...] [--seed S]
    hop-bench train ...                  (see evaluation.train_cli)
    hop-bench run ...                    the main job (see evaluation.main_job)
    hop-bench references ...             regenerate the shipped reference results

Exit codes: 0 done, 1 some trials failed (listed at the end) or an internal error, 2 bad
arguments or unknown names (one line, with close matches), 130 interrupted (finished
episodes are stored; the same command again resumes). ``--debug`` (before or after the
command) adds the traceback of every failure: of a failed trial, of a bad argument, and of
an unexpected error (re-raised). Sub-commands are :class:`Command` entries in
:data:`COMMANDS`, so later ones are added without touching the others; what they share
(:class:`UsageError`, option parsers, the ``--db`` check) is in :mod:`evaluation.cli_common`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from evaluation import (
    hop_plus_ablation,
    hop_plus_validation,
    main_job,
    references,
    train_cli,
)
from evaluation.cli_common import (
    PROG,
    UsageError,
    add_key_values,
    check_db_path,
    non_negative_int,
    positive_int,
)
from evaluation.runner import failure_lines
from evaluation.store import StoreError
from hop_envs.registry import UnknownNameError

__all__ = ["COMMANDS", "PROG", "Command", "UsageError", "build_parser", "main"]

LIST_KINDS = ("envs", "coplayers", "agents", "scenarios")
#: Errors that are the user's input: one line and exit code 2.
USAGE_ERRORS = (UsageError, UnknownNameError, ValueError, FileNotFoundError, StoreError)


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            choices = re.findall(r"'([^']*)'", bad.group(2))
            close = difflib.get_close_matches(bad.group(1), choices, n=3, cutoff=0.5)
            if close:
                message += f"; did you mean {', '.join(repr(c) for c in close)}?"
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@dataclass(frozen=True)
class Command:
    """A sub-command: how to add its arguments and how to run it (returns the exit code)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _choice(value: str, choices: Sequence[str], what: str) -> str:
    if value in choices:
        return value
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UsageError(f"unknown {what} {value!r}{hint} Choose from: {', '.join(choices)}")


# -- list ----------------------------------------------------------------------------------------
def _add_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", help=f"one of: {', '.join(LIST_KINDS)}")
    p.add_argument("--env", help="only what supports this env id")


def _env_ids(env: str | None) -> list[str]:
    import hop_envs
    from hop_envs.registration import full_env_id

    if env is None:
        return [full_env_id(e) for e in hop_envs.ENV_IDS]
    return [full_env_id(env)]


def _print_columns(rows: Sequence[Sequence[str]]) -> None:
    """Rows as aligned columns (the last one is not padded)."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


def _description(entry: Any) -> str:
    """The entry's description, else the first docstring line of its (plug-in) factory; a
    plug-in that fails to import says so instead of breaking the listing."""
    if entry.description:
        return entry.description
    from hop_envs.registry import _doc_line

    try:
        return _doc_line(entry.factory)
    except Exception as err:  # a broken plug-in is listed, not fatal
        return f"(cannot import: {type(err).__name__}: {err})"


def _run_list(args: argparse.Namespace) -> int:
    """One row per item, name first; co-players show their population (``training``,
    ``held-out``, ``plug-in``) and scenarios their family (``training``, ``held-out``,
    ``user``) in the second column."""
    kind = _choice(args.kind, LIST_KINDS, "list kind")
    env_ids = _env_ids(args.env)
    rows: list[tuple[str, ...]] = []
    if kind == "envs":
        import hop_envs

        for env_id in env_ids:
            env = hop_envs.make(env_id)
            doc = (type(env).__doc__ or "").strip().splitlines()
            rows.append((env_id, doc[0] if doc else ""))
    elif kind == "coplayers":
        from hop_envs.coplayers import COPLAYERS, coplayer_names, coplayer_population

        for env_id in env_ids:
            rows += [
                (n, coplayer_population(n), env_id, _description(COPLAYERS.entry(n)))
                for n in coplayer_names(env_id)
            ]
    elif kind == "agents":
        from agents.registry import agent_entry, agent_names

        seen: dict[str, list[str]] = {}
        for env_id in env_ids:
            for name in agent_names(env_id):
                seen.setdefault(name, []).append(env_id)
        rows = [(n, _description(agent_entry(n))) for n in sorted(seen)]
    else:
        from evaluation.scenarios import SCENARIOS, scenario_family

        rows = [
            (e.name, scenario_family(e.name), e.description)
            for e in SCENARIOS.entries()
            if args.env is None or any(e.supports(env_id) for env_id in env_ids)
        ]
    _print_columns(rows)
    return 0


# -- evaluate ------------------------------------------------------------------------------------
def _add_evaluate(p: argparse.ArgumentParser) -> None:
    from evaluation.backends import BACKENDS, DEFAULT_BACKEND
    from evaluation.store import DEFAULT_DB

    p.add_argument("--agent", required=True, help="registered agent name or module:Class")
    add_key_values(p, "--agent-arg", "keyword argument for the agent")
    p.add_argument(
        "--scenario",
        action="append",
        required=True,
        help="scenario name, module:Attr or TOML file (repeatable)",
    )
    p.add_argument("--trials", type=positive_int, help="trials per scenario (default: scenario's)")
    p.add_argument("--episodes", type=positive_int, help="episodes per trial (default: scenario's)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="base seed (default 0)")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: CPUs)")
    p.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        help=f"{' | '.join(BACKENDS)} (default {DEFAULT_BACKEND})",
    )
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"results (default {DEFAULT_DB})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--rerun",
        action="store_true",
        help="delete the stored episodes of these exact configurations and play them again",
    )


def _with_cwd_on_path() -> None:
    """Let ``module:Class`` name modules in the current directory (as ``python -m`` would)."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def _check_agent(name: str, env_ids: Sequence[str]) -> None:
    """Fail early (exit 2) on an unknown agent or one that does not support an env."""
    from agents.registry import AGENTS

    entry = AGENTS.entry(name)
    for env_id in env_ids:
        AGENTS.check_env(entry, env_id)


def skipped_message(skipped: int, db: Path | str) -> str:
    """What ``evaluate`` says about trials it did not play again."""
    trials = "trial" if skipped == 1 else "trials"
    return (
        f"{skipped} {trials} of this exact configuration already stored in {db}, skipped "
        "(use --rerun to play them again)"
    )


def _run_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from evaluation.backends import BACKENDS
    from evaluation.evaluate import evaluate, stored_records
    from evaluation.jobs import AgentSpec
    from evaluation.players import check_focal_agent
    from evaluation.scenarios import load_scenario
    from evaluation.store import ResultStore
    from evaluation.summary import format_table, summarise

    backend = _choice(args.backend, BACKENDS, "backend")
    _with_cwd_on_path()
    scenarios = [load_scenario(s) for s in args.scenario]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError(f"the same scenario is given twice: {names}")
    _check_agent(args.agent, sorted({s.env_id for s in scenarios}))
    check_db_path(args.db)
    agent = AgentSpec(args.agent, dict(args.agent_arg))
    check_focal_agent(agent, scenarios, args.seed)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="ep", desc="episodes", disable=args.no_progress or None)
        bar.update(1)

    with ResultStore(args.db) as store:
        try:
            result = evaluate(
                agent,
                scenarios,
                store,
                seed=args.seed,
                trials=args.trials,
                episodes=args.episodes,
                backend=backend,
                workers=args.workers,
                progress=progress,
                rerun=args.rerun,
            )
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            print(
                f"{PROG}: interrupted; {store.count()} episodes are stored in {args.db}; "
                "run the same command again to resume",
                file=sys.stderr,
            )
            return 130
        finally:
            if bar is not None:
                bar.close()
        if result.skipped_trials:
            print(skipped_message(result.skipped_trials, args.db))
        rows = [summarise(key.scenario, stored_records(store, key)) for key in result.keys]
    print(format_table(agent.label, rows))
    print(f"{result.inserted} new episode(s) stored in {args.db}")
    if result.failures:
        print(f"{PROG}: {len(result.failures)} trial(s) failed:", file=sys.stderr)
        if args.debug:  # every trial with its traceback
            for err in result.failures:
                print(f"  - {err}", file=sys.stderr)
                details = getattr(err, "details", "")
                if details:
                    print(textwrap.indent(details.rstrip(), "    "), file=sys.stderr)
        else:
            for line in failure_lines(result.failures):
                print(f"  - {line}", file=sys.stderr)
            print(f"{PROG}: run again with --debug for the tracebacks", file=sys.stderr)
        return 1
    return 0


# -- report --------------------------------------------------------------------------------------
def _add_report(p: argparse.ArgumentParser) -> None:
    from evaluation.store import DEFAULT_DB

    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"results (default {DEFAULT_DB})")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results") / "report",
        help="output folder (default results/report)",
    )
    p.add_argument(
        "--readme",
        type=Path,
        default=None,
        help="also write the aggregate tables into this README, between the markers "
        "<!-- report:SECTION:start --> and <!-- report:SECTION:end -->",
    )
    p.add_argument("--section", default=None, help="the README block's name (with --readme)")


def _run_report(args: argparse.Namespace) -> int:
    from evaluation.readme_blocks import check_block
    from evaluation.store import ResultStore

    if (args.readme is None) != (args.section is None):
        raise UsageError("--readme and --section go together: give both or neither")
    if args.readme is not None:
        check_block(args.readme, f"report:{args.section}")  # before any work
    check_db_path(args.db)
    if not args.db.is_file():
        raise UsageError(f"no result database at {args.db}; run 'hop-bench evaluate' first")
    with ResultStore(args.db) as store:
        records, hidden = store.latest_records()
    if not records:
        raise UsageError(f"the result database {args.db} holds no episodes yet")
    from evaluation.report import write_report

    paths = write_report(records, args.out, hidden=hidden)
    print(f"report of {len(records)} episodes written to {args.out}")
    if hidden:
        print(
            f"{len(hidden)} older configuration(s) of an agent in a scenario left out (each "
            "agent is reported in its newest configuration; listed in the report)"
        )
    for path in _report_files(paths):
        print(f"  {path}")
    if args.readme is not None:
        _report_into_readme(args, paths)
        print(f"aggregate tables written into {args.readme}")
    return 0


def _report_into_readme(args: argparse.Namespace, paths: Any) -> None:
    """The report's aggregate tables into ``args.readme``'s ``report:<section>`` block,
    headed by where the full report is and the command that made it."""
    import os

    from evaluation.readme_blocks import replace_block
    from evaluation.report import read_json, render_aggregates

    full = Path(os.path.relpath(paths.markdown, args.readme.parent)).as_posix()
    head = (
        f"Aggregate normalized scores of the report in `{args.out.as_posix()}` (the full report, "
        f"with every table and curve: [{full}]({full})). Generated by `hop-bench report --out "
        f"{args.out.as_posix()} --readme {args.readme.as_posix()} --section {args.section}`."
    )
    body = render_aggregates(read_json(paths.json))
    replace_block(args.readme, f"report:{args.section}", f"{head}\n\n{body}")


def _report_files(paths: Any) -> list[Path]:
    files: list[Path] = []
    for value in vars(paths).values() if hasattr(paths, "__dict__") else []:
        files += list(value) if isinstance(value, tuple | list) else [value]
    return files


# -- play ----------------------------------------------------------------------------------------
def _add_play(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", help="env id, e.g. hop/MarkovStagHunt-v0")
    p.add_argument("--scenario", help="play a scenario's first episode instead of --env")
    p.add_argument("--agent", help="agent (or co-player) in the focal seat(s) (default 'random')")
    add_key_values(p, "--agent-arg", "keyword argument for the agent")
    p.add_argument(
        "--coplayer",
        action="append",
        default=[],
        help="co-player of the other seats: one, or one per seat (default 'random')",
    )
    add_key_values(p, "--env-arg", "env argument, e.g. grid_size=6")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed (default 0)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds between frames")


def _run_play(args: argparse.Namespace) -> int:
    from evaluation.play import play

    _with_cwd_on_path()
    if (args.env is None) == (args.scenario is None):
        raise UsageError("give exactly one of --env ID or --scenario NAME")
    play(
        env=args.env,
        scenario=args.scenario,
        agent=args.agent,
        agent_kwargs=dict(args.agent_arg),
        coplayers=args.coplayer,
        env_kwargs=dict(args.env_arg),
        seed=args.seed,
        delay=max(0.0, args.delay),
        out=sys.stdout,
    )
    return 0


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("list", "list envs, co-players, agents or scenarios", _add_list, _run_list),
        Command(
            "evaluate",
            "run an agent in scenarios and store the episodes",
            _add_evaluate,
            _run_evaluate,
        ),
        Command("report", "tables and plots from stored results", _add_report, _run_report),
        Command("play", "watch one episode as text", _add_play, _run_play),
        Command("train", train_cli.HELP, train_cli.add_train_arguments, train_cli.run_train),
        Command("run", main_job.HELP, main_job.add_arguments, main_job.run),
        Command(
            "hop-plus-ablation",
            hop_plus_ablation.HELP,
            hop_plus_ablation.add_arguments,
            hop_plus_ablation.run,
        ),
        Command(
            "hop-plus-validate",
            hop_plus_validation.HELP,
            hop_plus_validation.add_arguments,
            hop_plus_validation.run,
        ),
        Command(
            "references",
            "regenerate the shipped reference results that scale every normalized score",
            references.add_arguments,
            references.run,
        ),
    )
}


class _VersionAction(argparse.Action):
    """``--version``: print ``hop-bench <version>`` and exit 0 (the version is looked up
    only when asked for)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from evaluation.jobs import package_version

        print(f"{PROG} {package_version()}")
        parser.exit(0)


_DEBUG_HELP = "show the traceback of every failure (agents' included)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Benchmark agents that adapt to unseen co-players.")
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS.values():
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        # also after the command; SUPPRESS keeps a --debug given before it
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        command.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hop-bench`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help/--version (0) or a usage error (2), already printed
        return done.code if isinstance(done.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    debug = bool(getattr(args, "debug", False))
    args.debug = debug
    try:
        code = COMMANDS[args.command].run(args)
    except USAGE_ERRORS as err:
        if debug:
            traceback.print_exc()
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `hop-bench play ... | head`: the reader is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:
        if debug:
            raise
        print(
            f"{PROG} {args.command}: internal error: {type(err).__name__}: {err} "
            "(run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
