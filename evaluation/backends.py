"""Where trials run: in this process, in a local process pool, or on Ray.

Every backend turns a list of :class:`TrialJob` into a stream of events in this process:
:class:`EpisodeDone` as each episode finishes (so the caller can store it at once) and
:class:`JobDone` when a job ends, with its :class:`TrialError` if it failed. A failed job
never stops the others. Jobs are pure functions of their fields, so every backend gives the
same records; only the order of events differs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import queue as queue_module
import signal
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from evaluation.jobs import TrialJob
from evaluation.records import EpisodeRecord
from evaluation.runner import TrialError, run_trial

BACKENDS = ("serial", "process", "ray")
DEFAULT_BACKEND = "process"


@dataclass(frozen=True)
class EpisodeDone:
    """Job ``index`` finished an episode."""

    index: int
    record: EpisodeRecord


@dataclass(frozen=True)
class JobDone:
    """Job ``index`` ended; ``error`` is set if it failed."""

    index: int
    error: TrialError | None = None


Event = EpisodeDone | JobDone


def default_workers() -> int:
    """Worker processes when none are asked for: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_jobs(
    jobs: Sequence[TrialJob], backend: str = DEFAULT_BACKEND, workers: int | None = None
) -> Iterator[Event]:
    """Run ``jobs`` on ``backend`` with ``workers`` workers, yielding events as they happen."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if not jobs:
        return iter(())
    if backend == "serial":
        return _run_serial(jobs)
    if backend == "process":
        return _run_process(jobs, workers or default_workers())
    return _run_ray(jobs, workers)


# -- serial ----------------------------------------------------------------------------------
def _run_serial(jobs: Sequence[TrialJob]) -> Iterator[Event]:
    for index, job in enumerate(jobs):
        try:
            for record in run_trial(job):
                yield EpisodeDone(index, record)
        except TrialError as err:
            yield JobDone(index, err)
        else:
            yield JobDone(index)


# -- local process pool ------------------------------------------------------------------------
_RESULTS: Any = None


def _watch_parent() -> None:
    """Exit as soon as the parent process dies, so a killed run leaves no orphans."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def _init_worker(results: Any) -> None:
    global _RESULTS
    _RESULTS = results
    # The parent handles Ctrl-C (it stops the pool); workers must not die half-way on their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, daemon=True, name="hop-bench-parent-watch").start()


def _work(index: int, job: TrialJob) -> tuple[int, TrialError | None]:
    """Run one job in a worker; stream records to the parent; return (records sent, error)."""
    sent = 0
    try:
        for record in run_trial(job):
            _RESULTS.put((index, record))
            sent += 1
    except TrialError as err:
        return sent, err
    return sent, None


def _run_process(jobs: Sequence[TrialJob], workers: int) -> Iterator[Event]:
    ctx = multiprocessing.get_context("spawn")  # same behaviour on every OS; no fork+threads
    results = ctx.Queue()
    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(results,),
    )
    finished_cleanly = False
    try:
        futures: dict[Future, int] = {
            executor.submit(_work, index, job): index for index, job in enumerate(jobs)
        }
        received: Counter[int] = Counter()
        ended: dict[int, tuple[int, TrialError | None]] = {}
        remaining = set(range(len(jobs)))
        while remaining:
            try:
                index, record = results.get(timeout=0.05)
            except queue_module.Empty:
                pass
            else:
                received[index] += 1
                yield EpisodeDone(index, record)
                continue
            for future in [f for f in futures if f.done()]:
                index = futures.pop(future)
                try:
                    ended[index] = future.result()
                except BaseException as err:  # the worker died (killed, out of memory, ...)
                    ended[index] = (
                        received[index],
                        TrialError(f"{jobs[index].label} failed: worker process lost: {err!r}"),
                    )
            for index, (sent, error) in list(ended.items()):
                if received[index] >= sent:
                    del ended[index]
                    remaining.discard(index)
                    yield JobDone(index, error)
        finished_cleanly = True
    finally:
        if finished_cleanly:
            executor.shutdown(wait=True)
        else:  # interrupted (Ctrl-C, or the consumer stopped): stop at once
            # ProcessPoolExecutor (before Python 3.14) cannot stop running workers itself.
            workers_running = list((getattr(executor, "_processes", None) or {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for process in workers_running:
                with contextlib.suppress(Exception):
                    process.terminate()
        results.close()
        if finished_cleanly:
            results.join_thread()
        else:
            results.cancel_join_thread()


# -- Ray ---------------------------------------------------------------------------------------
def _ray_work(job: TrialJob) -> Iterator[tuple[str, Any]]:
    """A Ray task body: yields ("record", record) per episode, then ("done", error)."""
    try:
        for record in run_trial(job):
            yield "record", record
    except TrialError as err:
        yield "done", err
        return
    yield "done", None


def _run_ray(jobs: Sequence[TrialJob], workers: int | None) -> Iterator[Event]:
    try:
        import ray
    except ImportError:
        raise ImportError("the 'ray' backend needs Ray: pip install 'hop-bench[ray]'") from None
    started_here = False
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(
            address=address,
            num_cpus=None if address else (workers or default_workers()),
            include_dashboard=False,
            log_to_driver=False,
        )
        started_here = True
    remote = ray.remote(num_cpus=1)(_ray_work)
    try:
        streams = {remote.remote(job): index for index, job in enumerate(jobs)}
        while streams:
            ready, _ = ray.wait(list(streams), num_returns=1, timeout=None)
            for stream in ready:
                index = streams[stream]
                try:
                    ref = next(stream)
                except StopIteration:
                    del streams[stream]
                    continue
                try:
                    kind, payload = ray.get(ref)
                except Exception as err:  # the task or its worker died
                    del streams[stream]
                    yield JobDone(index, TrialError(f"{jobs[index].label} failed on Ray: {err!r}"))
                    continue
                if kind == "record":
                    yield EpisodeDone(index, payload)
                else:
                    del streams[stream]
                    yield JobDone(index, payload)
    finally:
        if started_here:
            ray.shutdown()
