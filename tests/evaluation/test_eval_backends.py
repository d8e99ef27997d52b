"""Backends give the same records for the same seeds; a failing job spares the others."""

from __future__ import annotations

import os

import pytest

from evaluation.backends import EpisodeDone, JobDone, run_jobs
from evaluation.jobs import AgentSpec, TrialJob
from evaluation.scenarios import load_scenario

SCENARIOS = ("msh/adapt-1v3-nearest-stag", "msg/adapt-3v1-cleaner")


def make_jobs(agent="random", scenarios=SCENARIOS, trials=3, episodes=2, seed=11):
    spec = AgentSpec(agent)
    return [
        TrialJob(spec, load_scenario(name), seed, trial, episodes)
        for name in scenarios
        for trial in range(trials)
    ]


def collect(events):
    records, done = [], {}
    for event in events:
        if isinstance(event, EpisodeDone):
            assert event.index not in done, "a record arrived after its job ended"
            records.append(event.record)
        else:
            assert isinstance(event, JobDone)
            done[event.index] = event.error
    key = lambda r: (r.scenario, r.trial, r.episode)  # noqa: E731
    return sorted(records, key=key), done


def test_process_pool_gives_the_serial_records():
    jobs = make_jobs()
    serial, serial_done = collect(run_jobs(jobs, backend="serial"))
    pooled, pooled_done = collect(run_jobs(jobs, backend="process", workers=2))
    assert len(serial) == 2 * 3 * 2
    assert pooled == serial
    assert serial_done == pooled_done == dict.fromkeys(range(len(jobs)))


@pytest.mark.ray
def test_ray_gives_the_serial_records():
    import ray  # the ray extra is part of the test set-up (make install): never skipped

    jobs = make_jobs(trials=2)
    serial, _ = collect(run_jobs(jobs, backend="serial"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote, done = collect(run_jobs(jobs, backend="ray"))
    finally:
        ray.shutdown()
    assert remote == serial
    assert done == dict.fromkeys(range(len(jobs)))


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_a_failing_job_is_reported_and_the_others_are_kept(backend):
    jobs = make_jobs(agent="eval_test_agents:FailsInSnowdrift", trials=2, episodes=2)
    records, done = collect(run_jobs(jobs, backend=backend, workers=2))
    stag_hunt = [j for j in jobs if "msh/" in j.scenario.name]
    assert {(r.scenario, r.trial, r.episode) for r in records} == {
        (j.scenario.name, j.trial, e) for j in stag_hunt for e in range(2)
    }
    for index, job in enumerate(jobs):
        if job in stag_hunt:
            assert done[index] is None
        else:
            assert str(done[index]).startswith(
                f"agent 'eval_test_agents:FailsInSnowdrift', scenario 'msg/adapt-3v1-cleaner', "
                f"seed 11, trial {job.trial} failed in episode 0: RuntimeError: deliberate"
            )


def test_bad_backend_or_workers_are_refused():
    with pytest.raises(
        ValueError, match=r"backend must be one of \['serial', 'process', 'ray'\], got 'threads'"
    ):
        run_jobs(make_jobs(), backend="threads")
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        run_jobs(make_jobs(), backend="process", workers=0)


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_an_agent_edited_after_planning_is_refused_not_filed_under_the_old_hash(
    backend, tmp_path, monkeypatch
):
    # A worker that imports the agent after an edit would play the new code under the
    # configuration hash of the old one; the job must fail and say why instead.
    module = f"edited_after_planning_{backend}"
    source = tmp_path / f"{module}.py"
    source.write_text(
        "from eval_test_agents import RecordingAgent\n\n\n"
        "class Edited(RecordingAgent):\n    version = 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    jobs = make_jobs(agent=f"{module}:Edited", scenarios=SCENARIOS[:1], trials=2, episodes=1)
    source.write_text(source.read_text().replace("version = 1", "version = 2"))
    planned = source.stat().st_mtime_ns
    os.utime(source, ns=(planned + 5 * 10**9, planned + 5 * 10**9))
    records, done = collect(run_jobs(jobs, backend=backend, workers=2))
    assert records == []
    for index, job in enumerate(jobs):
        message = str(done[index])
        assert message.startswith(f"{job.label} failed in setting up: RuntimeError:")
        assert f"configuration {job.config_hash} when planned" in message
        assert "changed on disk after this run was planned" in message
    # planned again after the edit, the same trials run
    replanned = make_jobs(agent=f"{module}:Edited", scenarios=SCENARIOS[:1], trials=2, episodes=1)
    assert {j.config_hash for j in replanned}.isdisjoint({j.config_hash for j in jobs})
    records, done = collect(run_jobs(replanned, backend=backend, workers=2))
    assert [(r.trial, r.episode) for r in records] == [(0, 0), (1, 0)]
    assert done == dict.fromkeys(range(len(replanned)))
