"""SQLite storage: round trip, no duplicates, resume, and kill-and-resume for real."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import eval_test_agents
import pytest

from evaluation.evaluate import evaluate, plan
from evaluation.jobs import AgentSpec, config_hash, package_version
from evaluation.records import EpisodeRecord
from evaluation.scenarios import Scenario, load_scenario
from evaluation.store import ResultStore, StoreError

HERE = Path(__file__).resolve().parent


def record(**changes):
    base = dict(
        agent="hop",
        scenario="msh/adapt-1v3-random",
        env_id="hop/MarkovStagHunt-v0",
        seed=3,
        trial=1,
        episode=2,
        focal_seats=(0,),
        seat_players=("hop", "random", "random", "random"),
        returns=(5.0, 0.5, -1.25, 0.0),
        length=17,
        stags=(1, 0, 0, 0),
        hares=(0, 1, 0, 0),
        drifts=(0, 0, 0, 0),
        package_version="0.1.0",
        config_hash="abc123",
    )
    return EpisodeRecord(**(base | changes))


def test_round_trip_keeps_every_field(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        originals = [record(), record(episode=3, returns=(1e-9, 2.0, 3.0, 4.5))]
        assert store.add(originals) == 2
        assert store.records() == originals
        assert store.records(episode=3) == originals[1:]
    raw = (
        sqlite3.connect(tmp_path / "r.sqlite")
        .execute("SELECT returns, seat_players, focal_seats FROM episodes WHERE episode = 2")
        .fetchone()
    )
    assert raw == ("[5.0, 0.5, -1.25, 0.0]", '["hop", "random", "random", "random"]', "[0]")


def test_the_unique_key_prevents_duplicates_but_not_other_configs(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert store.add([record()]) == 1
        assert store.add([record(), record(returns=(9.0, 9.0, 9.0, 9.0))]) == 0
        assert store.add([record(config_hash="other")]) == 1
        assert store.count() == 2
        assert store.stored_episodes("hop", "msh/adapt-1v3-random", 3, "abc123") == {1: {2}}


def test_wal_mode_and_reopening(tmp_path):
    path = tmp_path / "deep" / "r.sqlite"
    with ResultStore(path) as store:
        store.add([record()])
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ResultStore(path) as store:
        assert store.records() == [record()]


def test_unusable_paths_are_refused(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        ResultStore(tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot use .*junk\.sqlite"):
        ResultStore(junk)


def test_config_hash_is_stable_and_covers_agent_and_scenario():
    s = load_scenario("msh/adapt-1v3-random")
    h = config_hash(AgentSpec("random"), s, "0.1.0")
    assert h == config_hash(AgentSpec("random"), load_scenario("msh/adapt-1v3-random"), "0.1.0")
    assert len(h) == 16
    other_env = Scenario(s.name, s.env_id, s.focal_seats, s.background, {"grid_size": 6})
    assert (
        len(
            {
                h,
                config_hash(AgentSpec("random", {"x": 1}), s, "0.1.0"),
                config_hash(AgentSpec("nearest-stag"), s, "0.1.0"),
                config_hash(AgentSpec("random"), other_env, "0.1.0"),
                config_hash(AgentSpec("random"), s, "0.2.0"),
            }
        )
        == 5
    )
    assert AgentSpec("random").label == "random"
    assert AgentSpec("hop", {"trees": 3, "beta": 2.0}).label == "hop(beta=2.0,trees=3)"
    # the budget is not part of the configuration (more episodes extend stored trials)
    bigger = Scenario(s.name, s.env_id, s.focal_seats, s.background, episodes=50, trials=99)
    assert config_hash(AgentSpec("random"), bigger, "0.1.0") == h


# -- resume ---------------------------------------------------------------------------------
def rows(path):
    return (
        sqlite3.connect(path)
        .execute(
            "SELECT agent, scenario, seed, trial, episode, returns, length, config_hash "
            "FROM episodes ORDER BY scenario, trial, episode"
        )
        .fetchall()
    )


def test_resume_fills_only_the_missing_episodes(tmp_path):
    agent = AgentSpec("random")
    scenarios = [load_scenario("msh/adapt-1v3-nearest-hare"), load_scenario("msg/selfplay")]
    with ResultStore(tmp_path / "full.sqlite") as full:
        first = evaluate(agent, scenarios, full, seed=4, trials=3, episodes=3, backend="serial")
        assert (first.inserted, first.skipped_trials, first.jobs) == (18, 0, 6)
    with ResultStore(tmp_path / "part.sqlite") as part:
        evaluate(agent, scenarios, part, seed=4, trials=3, episodes=3, backend="serial")
    db = sqlite3.connect(tmp_path / "part.sqlite")
    with db:  # lose trial 0 episode 1 of the stag hunt and all of the snowdrift's trial 2
        db.execute("DELETE FROM episodes WHERE scenario LIKE 'msh/%' AND trial = 0 AND episode = 1")
        db.execute("DELETE FROM episodes WHERE scenario = 'msg/selfplay' AND trial = 2")
    with ResultStore(tmp_path / "part.sqlite") as part:
        jobs, _, skipped = plan(agent, scenarios, part, seed=4, trials=3, episodes=3)
        assert [(j.scenario.name, j.trial, sorted(j.skip)) for j in jobs] == [
            ("msh/adapt-1v3-nearest-hare", 0, [0, 2]),
            ("msg/selfplay", 2, []),
        ]
        assert skipped == 4
        again = evaluate(
            agent, scenarios, part, seed=4, trials=3, episodes=3, backend="process", workers=2
        )
        assert (again.inserted, again.episodes_run, again.skipped_trials) == (4, 4, 4)
        done = evaluate(agent, scenarios, part, seed=4, trials=3, episodes=3, backend="serial")
        assert (done.inserted, done.jobs, done.skipped_trials) == (0, 0, 6)
    assert rows(tmp_path / "part.sqlite") == rows(tmp_path / "full.sqlite")


def test_more_episodes_and_trials_extend_stored_results(tmp_path):
    agent, scenarios = AgentSpec("random"), [load_scenario("msg/adapt-1v3-cleaner")]
    with ResultStore(tmp_path / "grow.sqlite") as store:
        evaluate(agent, scenarios, store, seed=1, trials=2, episodes=2, backend="serial")
        grown = evaluate(agent, scenarios, store, seed=1, trials=3, episodes=3, backend="serial")
        assert grown.inserted == 9 - 4
    with ResultStore(tmp_path / "direct.sqlite") as store:
        evaluate(agent, scenarios, store, seed=1, trials=3, episodes=3, backend="serial")
    assert rows(tmp_path / "grow.sqlite") == rows(tmp_path / "direct.sqlite")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path, monkeypatch, how):
    db = tmp_path / "killed.sqlite"
    scenario, trials, episodes = "msh/adapt-1v3-random", 6, 4
    total = trials * episodes
    command = [
        sys.executable,
        "-m",
        "evaluation.cli",
        "evaluate",
        "--agent",
        "eval_test_agents:SlowRandomAgent",
        "--scenario",
        scenario,
        "--trials",
        str(trials),
        "--episodes",
        str(episodes),
        "--seed",
        "2",
        "--backend",
        "process",
        "--workers",
        "2",
        "--db",
        str(db),
        "--no-progress",
    ]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(HERE), os.getcwd()])}
    # Slow enough that the run is still going when the signal comes, even when this test
    # process waits for a busy machine's cores (at 2 ms an act it could finish first).
    slow = env | {"HOP_BENCH_TEST_AGENT_DELAY": "0.02"}
    proc = subprocess.Popen(
        command, env=slow, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        stored, deadline = 0, time.monotonic() + 60
        while stored < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if db.exists():
                try:
                    stored = (
                        sqlite3.connect(db).execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
                    )
                except sqlite3.OperationalError:  # table not created yet
                    stored = 0
        assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read()}"
        os.kill(proc.pid, how)
        code = proc.wait(timeout=30)
        if how == signal.SIGINT:  # a clean stop: exit 130 with a line saying how to resume
            message = proc.stderr.read().decode()
            assert code == 130, message
            assert "interrupted;" in message and "run the same command again" in message
        # the workers notice their parent died and exit instead of lingering as orphans
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("worker processes outlived the killed run")
    finally:
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    after_kill = len(rows(db))
    assert 3 <= after_kill < total

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{total - after_kill} new episode(s) stored" in resumed.stdout
    final = rows(db)
    assert len(final) == total
    assert len({r[:5] for r in final}) == total  # no duplicate keys

    # the numbers equal an uninterrupted run (same agent class, no sleeping)
    monkeypatch.setattr(eval_test_agents.SlowRandomAgent, "delay", 0.0)
    with ResultStore(tmp_path / "clean.sqlite") as store:
        evaluate(
            AgentSpec("eval_test_agents:SlowRandomAgent"),
            [load_scenario(scenario)],
            store,
            seed=2,
            trials=trials,
            episodes=episodes,
            backend="serial",
        )
    assert rows(tmp_path / "clean.sqlite") == final
    assert final[0][7] == config_hash(
        AgentSpec("eval_test_agents:SlowRandomAgent"), load_scenario(scenario), package_version()
    )


def test_evaluate_stored_returns_the_run_or_none_after_naming_each_failure(tmp_path, capsys):
    from evaluation.evaluate import evaluate_stored

    agent = AgentSpec("eval_test_agents:FailsInSnowdrift")
    hunt = load_scenario("msh/adapt-1v3-random")
    with ResultStore(tmp_path / "r.sqlite") as store:
        records = evaluate_stored(agent, [hunt], store, where="cmd", trials=2, episodes=1)
        assert records is not None and len(records) == 2  # 2 trials x 1 episode
        assert {(r.trial, r.episode) for r in records} == {(0, 0), (1, 0)}
        # Stored already: asked again, the same records come back without a new episode.
        again = evaluate_stored(agent, [hunt], store, where="cmd", trials=2, episodes=1)
        assert again == records and store.count() == 2
        drift = load_scenario("msg/adapt-1v3-random")
        assert evaluate_stored(agent, [drift], store, where="cmd", trials=2, episodes=1) is None
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("cmd: ") for line in err)
    assert all("deliberate failure for the test" in line for line in err)
