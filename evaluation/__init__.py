"""evaluation: scenarios, the trial runner and its backends, result storage and the
``hop-bench`` command line (DESIGN §6). Reports live in :mod:`evaluation.report` (imported
on demand: it needs matplotlib)."""

from evaluation.backends import BACKENDS, EpisodeDone, JobDone, run_jobs
from evaluation.evaluate import EvaluationResult, RunKey, evaluate, plan
from evaluation.jobs import AgentSpec, TrialJob, config_hash, package_version
from evaluation.records import EpisodeRecord
from evaluation.runner import TrialError, TrialRunner, run_trial
from evaluation.scenario_files import ScenarioFileError, load_scenario_file, parse_scenario
from evaluation.scenarios import (
    SCENARIOS,
    Scenario,
    ScenarioFieldError,
    load_scenario,
    scenario_names,
    standard_scenarios,
)
from evaluation.seeding import TrialSeeds, trial_seeds
from evaluation.store import DEFAULT_DB, ResultStore, StoreError

__all__ = [
    "BACKENDS",
    "DEFAULT_DB",
    "SCENARIOS",
    "AgentSpec",
    "EpisodeDone",
    "EpisodeRecord",
    "EvaluationResult",
    "JobDone",
    "ResultStore",
    "RunKey",
    "Scenario",
    "ScenarioFieldError",
    "ScenarioFileError",
    "StoreError",
    "TrialError",
    "TrialJob",
    "TrialRunner",
    "TrialSeeds",
    "config_hash",
    "evaluate",
    "load_scenario",
    "load_scenario_file",
    "package_version",
    "parse_scenario",
    "plan",
    "run_jobs",
    "run_trial",
    "scenario_names",
    "standard_scenarios",
    "trial_seeds",
]
