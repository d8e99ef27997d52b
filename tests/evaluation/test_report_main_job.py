"""The main job on a tiny budget: runs, stores, reports, resumes without duplicates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from baselines.shipped import shipped_learners
from evaluation.main_job import (
    PLANNER_EPISODES,
    PLANNER_TRIALS,
    PLANNING_AGENTS,
    MainJobConfig,
    Run,
    main,
    plan_runs,
    run_main_job,
    shipped_agents,
    update_readme,
)
from evaluation.references import reference_scale
from evaluation.report import ScenarioSummary, read_csv

#: One adapt-1v3 scenario per learner with a shipped checkpoint (the learned backgrounds).
MSH_LEARNED = {f"msh/adapt-1v3-{k}" for k in shipped_learners("MarkovStagHunt-v0")}
MSG_LEARNED = {f"msg/adapt-1v3-{k}" for k in shipped_learners("MarkovSnowdrift-v0")}
MSH_TRAINING = {
    "msh/adapt-1v3-nearest-hare",
    "msh/adapt-1v3-nearest-stag",
    "msh/adapt-1v3-random",
    "msh/adapt-hidden",
    "msh/adapt-mixed",
} | MSH_LEARNED
MSH_HELDOUT = {
    "msh/heldout-1v3-alternator",
    "msh/heldout-1v3-patient-stag",
    "msh/heldout-1v3-reciprocator",
    "msh/heldout-1v3-stag-follower",
    "msh/heldout-hidden",
    "msh/heldout-mixed",
}
MSH_MANY_FOCAL = {
    "msh/adapt-3v1-nearest-hare",
    "msh/adapt-3v1-nearest-stag",
    "msh/adapt-3v1-random",
    "msh/selfplay",
}
MSH_SCENARIOS = MSH_TRAINING | MSH_HELDOUT | MSH_MANY_FOCAL
NUM_SCENARIOS = 30 + len(MSH_LEARNED) + len(MSG_LEARNED)  # 15 per env and the learned


def stored(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]


def test_shipped_agents_are_random_and_the_rule_based_ones() -> None:
    assert {"random", "nearest-stag", "nearest-hare"} <= set(shipped_agents("MarkovStagHunt-v0"))
    assert {"random", "free-rider", "cleaner"} <= set(shipped_agents("MarkovSnowdrift-v0"))
    assert "cleaner" not in shipped_agents("MarkovStagHunt-v0")


def test_plan_covers_every_standard_scenario_of_each_env() -> None:
    runs = {
        r.agent: r.scenarios for r in plan_runs(MainJobConfig(agents=("random", "nearest-stag")))
    }
    assert {s.name for s in runs["nearest-stag"]} == MSH_SCENARIOS
    names = {s.name for s in runs["random"]}
    assert len(names) == NUM_SCENARIOS
    assert names >= MSH_SCENARIOS
    assert {n for n in names if n.startswith("msg/heldout-")} == {
        "msg/heldout-1v3-conditional-cleaner",
        "msg/heldout-1v3-late-cleaner",
        "msg/heldout-1v3-lazy-cleaner",
        "msg/heldout-1v3-reciprocal-cleaner",
        "msg/heldout-hidden",
        "msg/heldout-mixed",
    }


def test_planning_agents_play_the_one_focal_seat_scenarios_of_both_populations() -> None:
    runs = {r.agent: r for r in plan_runs(MainJobConfig(trials=7, episodes=9))}
    assert set(runs) >= PLANNING_AGENTS, "the HOP family and the oracle are shipped agents"
    order = [r.agent for r in plan_runs(MainJobConfig())]
    assert not any(a in PLANNING_AGENTS for a in order[: len(order) - len(PLANNING_AGENTS)])
    assert order[-1] == "oracle-mcts"  # cheap agents first, the oracle last
    for agent, run in runs.items():
        names = {s.name for s in run.scenarios}
        if agent in PLANNING_AGENTS:
            assert (run.trials, run.episodes) == (PLANNER_TRIALS, PLANNER_EPISODES)
            assert all(len(s.focal_seats) == 1 for s in run.scenarios)
        else:
            assert (run.trials, run.episodes) == (7, 9)
        if agent in PLANNING_AGENTS:
            assert names == {
                f"{env}/{name}"
                for env in ("msh", "msg")
                for name in ("adapt-hidden", "adapt-mixed", "heldout-hidden", "heldout-mixed")
            }
    one_focal = {r.agent: r for r in plan_runs(MainJobConfig(planner_scenarios="one-focal"))}
    # every planner, the oracle too (it plans with copies of the actual co-players)
    for agent in PLANNING_AGENTS:
        names = {s.name for s in one_focal[agent].scenarios}
        # the aggregated one-focal scenarios: not the learned backgrounds
        assert {n for n in names if n.startswith("msh/")} == (
            MSH_TRAINING - MSH_LEARNED
        ) | MSH_HELDOUT
        assert len(names) == 22
    everywhere = plan_runs(MainJobConfig(agents=("hop",), planner_scenarios="all"))
    assert len(everywhere[0].scenarios) == NUM_SCENARIOS


FAST = "random,nearest-stag,nearest-hare,free-rider,cleaner"


def test_main_job_tiny_budget_stores_reports_and_resumes(tmp_path: Path, capsys) -> None:
    db, out = tmp_path / "db.sqlite", tmp_path / "report"
    argv = ["--trials", "1", "--episodes", "1", "--db", str(db), "--out", str(out)]
    argv += ["--no-progress", "--backend", "serial", "--agents", FAST]
    assert main(argv) == 0
    runs = plan_runs(MainJobConfig(agents=tuple(FAST.split(","))))
    pairs = {(run.agent, s.name) for run in runs for s in run.scenarios}
    assert stored(db) == len(pairs)  # one trial of one episode per agent x scenario
    rows = read_csv(out / "summary.csv", ScenarioSummary)
    assert {(r.agent, r.scenario) for r in rows} == pairs
    assert all((r.trials, r.episodes, r.focal_ci) == (1, 1, None) for r in rows)
    # normalized scores use the shipped references' scale, whatever this run's numbers are
    for r in rows:
        scale = reference_scale(r.scenario, r.env_id, r.scenario_hash)
        assert scale.source == "shipped"
        expected = scale.normalize(r.focal_mean)
        assert r.normalized == (None if expected is None else pytest.approx(expected))
    for name in ("report.md", "curves.csv", "scores.csv", "report.json"):
        assert (out / name).is_file()
    curves = [p for p in (out / "plots").glob("*.png") if not p.name.startswith("aggregate_")]
    assert len(curves) == NUM_SCENARIOS
    assert {p.name for p in (out / "plots").glob("aggregate_*.png")} == {
        "aggregate_MarkovStagHunt-v0.png",
        "aggregate_MarkovSnowdrift-v0.png",
    }
    printed = capsys.readouterr().out
    assert printed.index("main job plan") < printed.index("episodes in the report")
    first = (out / "summary.csv").read_text()

    assert main(argv) == 0  # a re-run resumes: nothing new, same report
    assert stored(db) == len(pairs)
    assert f"(0 new, {len(pairs)} trials already stored)" in capsys.readouterr().out
    assert (out / "summary.csv").read_text() == first


def test_report_covers_exactly_this_runs_budget(tmp_path: Path) -> None:
    db, out = tmp_path / "db.sqlite", tmp_path / "report"
    base = ["--agents", "random", "--trials", "1", "--db", str(db), "--out", str(out)]
    base += ["--no-progress", "--backend", "serial"]
    assert main([*base, "--episodes", "2"]) == 0
    assert {r.episodes for r in read_csv(out / "summary.csv", ScenarioSummary)} == {2}
    assert main([*base, "--episodes", "1"]) == 0  # stored already; report only episode 0
    assert stored(db) == NUM_SCENARIOS * 2
    assert {r.episodes for r in read_csv(out / "summary.csv", ScenarioSummary)} == {1}


def test_bad_arguments_exit_2_with_the_known_names(tmp_path: Path, capsys) -> None:
    where = ["--db", str(tmp_path / "db"), "--out", str(tmp_path / "out")]
    assert main(["--agents", "nearest-stagg", *where]) == 2
    err = capsys.readouterr().err
    assert "'nearest-stagg' is not a shipped agent" in err
    assert "nearest-stag" in err
    assert main(["--trials", "0", *where]) == 2
    assert "trials must be an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["--episodes", "-1", *where]) == 2
    assert "episodes must be an integer >= 1, got -1" in capsys.readouterr().err
    assert not (tmp_path / "db").exists()
    assert not (tmp_path / "out").exists()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"backend must be one of .* got 'threads'"):
        MainJobConfig(backend="threads")
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        MainJobConfig(workers=0)


class Boom:
    """A focal agent that fails on its first move (to test failure handling)."""

    def reset(self, seed=None, seat=None) -> None:
        return None

    def start_episode(self) -> None:
        return None

    def act(self, observation) -> int:
        raise RuntimeError("boom")

    def observe(self, transition) -> None:
        return None

    def end_episode(self) -> None:
        return None


def test_failed_trials_are_listed_and_the_rest_is_reported(tmp_path: Path) -> None:
    from evaluation.scenarios import load_scenario

    scenario = load_scenario("msh/adapt-1v3-nearest-stag")
    config = MainJobConfig(
        trials=2,
        episodes=1,
        db=tmp_path / "db",
        out=tmp_path / "out",
        backend="serial",
        progress=False,
    )
    runs = [Run("random", [scenario], 2, 1), Run(f"{__name__}:Boom", [scenario], 2, 1)]
    result = run_main_job(config, runs)
    assert len(result.failures) == 2  # both trials of Boom
    assert all("boom" in f and "Boom" in f for f in result.failures)
    assert result.report is not None
    rows = read_csv(result.report.summary_csv, ScenarioSummary)
    assert [(r.agent, r.trials) for r in rows] == [("random", 2)]


def test_readme_gets_the_generated_tables_between_its_markers(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "results"
    argv = ["--agents", "random,nearest-stag", "--trials", "1", "--episodes", "1"]
    argv += ["--db", str(tmp_path / "db"), "--out", str(out), "--no-progress"]
    argv += ["--backend", "serial"]
    readme = tmp_path / "README.md"
    readme.write_text("# t\n\nintro\n<!-- results:start -->\nold\n<!-- results:end -->\nafter\n")
    assert main([*argv, "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# t\n\nintro\n<!-- results:start -->\n### MarkovStagHunt-v0")
    assert "\nold\n" not in text and text.endswith("<!-- results:end -->\nafter\n")
    assert "](docs/results/plots/MarkovStagHunt-v0__msh_selfplay.png)" in text
    assert "#### Focal per-capita return" in text
    bare = tmp_path / "BARE.md"
    bare.write_text("# no markers here\n")
    with pytest.raises(
        ValueError, match=r"does not hold <!-- results:start --> \.\.\. <!-- results:end"
    ):
        update_readme(bare, _paths(out))


def _paths(out: Path):
    from evaluation.report import ReportPaths

    return ReportPaths(
        markdown=out / "report.md",
        summary_csv=out / "summary.csv",
        curves_csv=out / "curves.csv",
        scores_csv=out / "scores.csv",
        json=out / "report.json",
        plots=(),
    )
