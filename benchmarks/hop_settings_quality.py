"""Returns of ``hop``'s acting default and an earlier acting configuration, on paired trials.

The current acting default (5 trees x 40 simulations in rounds of 20 leaves, own-cell
co-player cache) against one earlier configuration (``--baseline``):

* ``previous`` (default): the previous acting default, 50 simulations in rounds of 25
  leaves, own-cell cache;
* ``earlier``: the configuration before batched valuation, 50 simulations, exact cache
  (i.e. the model's own answers) and 10 leaves per round;

both with the shipped weights, on the training-population scenarios with one focal seat
(default: the three ``adapt-1v3-*``, ``adapt-hidden`` and ``adapt-mixed`` of each game).
Trial ``i`` of a scenario has the same seeds for both (same layouts, same hidden co-player
kind), so the comparison is paired: per scenario it prints each configuration's mean focal
return per episode with a 95% t-interval over trial means, and the mean paired difference
(default - baseline) with its interval, marked "within noise" when the interval holds 0.
Episodes are stored in ``--db`` (resumable: a second run only plays what is missing).

    python benchmarks/hop_settings_quality.py [--baseline previous] [--trials 10]
        [--episodes 10] [--workers 2]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from hop_decision import EARLIER, PREVIOUS  # this script's folder, on sys.path when run

from agents.hop.agent import ACTING_DEFAULTS
from evaluation.evaluate import evaluate, stored_records
from evaluation.jobs import AgentSpec
from evaluation.report.stats import mean_ci
from evaluation.scenarios import load_scenario
from evaluation.store import ResultStore

SCENARIOS = [
    f"{env}/{name}"
    for env, kinds in (
        ("msh", ("nearest-stag", "nearest-hare", "random")),
        ("msg", ("cleaner", "free-rider", "random")),
    )
    for name in [*(f"adapt-1v3-{k}" for k in kinds), "adapt-hidden", "adapt-mixed"]
]
#: The earlier acting configurations ``--baseline`` names, as keywords over today's defaults.
BASELINES = {
    "previous": ("previous default (50 sims, 25 leaves/round)", PREVIOUS),
    "earlier": (
        "earlier (50 sims, exact cache, 10 leaves/round)",
        {**EARLIER, "om_cache": "exact"},
    ),
}
DEFAULT_LABEL = (
    f"acting default ({ACTING_DEFAULTS['num_simulations']} sims, "
    f"{ACTING_DEFAULTS['leaves_per_round']} leaves/round)"
)


def trial_means(records) -> dict[int, float]:
    """Mean focal return per episode of each trial."""
    per_trial: dict[int, list[float]] = defaultdict(list)
    for r in records:
        per_trial[r.trial].append(float(np.mean([r.returns[s] for s in r.focal_seats])))
    return {t: float(np.mean(v)) for t, v in per_trial.items()}


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and the bounds of its 95% t-interval (NaN bounds with fewer than two values)."""
    estimate = mean_ci(values)
    half = float("nan") if estimate.ci is None else estimate.ci
    return estimate.mean, estimate.mean - half, estimate.mean + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", choices=list(BASELINES), default="previous")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default="results/hop-settings-quality.sqlite")
    parser.add_argument("--scenario", action="append", help="scenario (repeatable)")
    args = parser.parse_args()
    scenarios = [load_scenario(name) for name in (args.scenario or SCENARIOS)]
    store = ResultStore(args.db)
    means: dict[str, dict[str, dict[int, float]]] = {}
    configs = dict([BASELINES[args.baseline], (DEFAULT_LABEL, {})])
    for label, kwargs in configs.items():
        result = evaluate(
            AgentSpec("hop", kwargs),
            scenarios,
            store,
            seed=args.seed,
            trials=args.trials,
            episodes=args.episodes,
            workers=args.workers,
        )
        if result.failures:
            raise SystemExit(f"{label}: {len(result.failures)} trials failed: {result.failures[0]}")
        means[label] = {k.scenario: trial_means(stored_records(store, k)) for k in result.keys}
    baseline, default = list(configs)
    print(
        f"hop, shipped weights, {args.trials} trials x {args.episodes} episodes, seed "
        f"{args.seed}; mean focal return per episode [95% CI over trials]"
    )
    print(f"baseline: {baseline}; default: {default}")
    print(f"{'scenario':<28} {'baseline':>22} {'default':>22} {'default - baseline':>24}")
    for scenario in (s.name for s in scenarios):
        a, b = means[baseline][scenario], means[default][scenario]
        trials = sorted(set(a) & set(b))
        ea, eb = interval([a[t] for t in trials]), interval([b[t] for t in trials])
        ed = interval([b[t] - a[t] for t in trials])
        noise = "within noise" if ed[1] <= 0.0 <= ed[2] else "differs"
        print(
            f"{scenario:<28} {ea[0]:7.2f} [{ea[1]:6.2f},{ea[2]:6.2f}] "
            f"{eb[0]:7.2f} [{eb[1]:6.2f},{eb[2]:6.2f}] "
            f"{ed[0]:+7.2f} [{ed[1]:+6.2f},{ed[2]:+6.2f}] {noise}"
        )


if __name__ == "__main__":
    main()
