"""evaluation: scenarios, the trial runner and its backends, result storage, the shipped
reference results and the ``hop-bench`` command line. Reports live in
:mod:`evaluation.report` (its plots import matplotlib on demand)."""

from evaluation.backends import BACKENDS, EpisodeDone, JobDone, run_jobs
from evaluation.evaluate import EvaluationResult, RunKey, evaluate, plan
from evaluation.fingerprint import agent_fingerprint
from evaluation.jobs import AgentSpec, TrialJob, config_hash, package_version, scenario_hash
from evaluation.records import EpisodeRecord
from evaluation.references import (
    ReferenceResult,
    ReferenceScale,
    reference_agents,
    reference_scale,
    shipped_references,
)
from evaluation.runner import TrialError, TrialRunner, run_trial
from evaluation.scenario_files import ScenarioFileError, load_scenario_file, parse_scenario
from evaluation.scenarios import (
    SCENARIOS,
    CoplayerSpec,
    Scenario,
    ScenarioFieldError,
    all_scenarios,
    heldout_scenarios,
    load_scenario,
    scenario_family,
    scenario_names,
    standard_scenarios,
    training_scenarios,
)
from evaluation.seeding import TrialSeeds, trial_seeds
from evaluation.store import DEFAULT_DB, ResultStore, StoreError

__all__ = [
    "BACKENDS",
    "DEFAULT_DB",
    "SCENARIOS",
    "AgentSpec",
    "CoplayerSpec",
    "EpisodeDone",
    "EpisodeRecord",
    "EvaluationResult",
    "JobDone",
    "ReferenceResult",
    "ReferenceScale",
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
    "agent_fingerprint",
    "all_scenarios",
    "config_hash",
    "evaluate",
    "heldout_scenarios",
    "load_scenario",
    "load_scenario_file",
    "package_version",
    "parse_scenario",
    "plan",
    "reference_agents",
    "reference_scale",
    "run_jobs",
    "run_trial",
    "scenario_family",
    "scenario_hash",
    "scenario_names",
    "shipped_references",
    "standard_scenarios",
    "training_scenarios",
    "trial_seeds",
]
