"""Returns of two ``hop`` acting configurations on paired trials of the training population.

By default, the current acting default (5 trees x 40 simulations in rounds of 20 leaves,
own-cell co-player cache) against one earlier configuration (``--baseline``):

* ``previous`` (the default baseline): the previous acting default, 50 simulations in
  rounds of 25 leaves, own-cell cache;
* ``earlier``: the configuration before batched valuation, 50 simulations, exact cache
  (i.e. the model's own answers) and 10 leaves per round;
* ``current``: the acting default itself.

``--candidate KEY=VALUE[,KEY=VALUE]`` plays a candidate configuration (those keywords over
the acting default) in the default's place, against ``current`` unless ``--baseline`` names
another: how a new default is tried before it is adopted.

Both with the shipped weights, on the training-population scenarios with one focal seat
(default: the three ``adapt-1v3-*``, ``adapt-hidden`` and ``adapt-mixed`` of each game).
Trial ``i`` of a scenario has the same seeds for both (same layouts, same hidden co-player
kind), so the comparison is paired: per scenario it prints each configuration's mean focal
return per episode with a 95% t-interval over trial means, and the mean paired difference
(second - baseline) with its interval, marked "within noise" when the interval holds 0; then
how many paired trials over all scenarios the second configuration scored higher, lower or
the same in, with a two-sided sign test over the untied ones. Episodes are stored in
``--db`` (resumable: a second run only plays what is missing).

    python benchmarks/hop_settings_quality.py [--baseline previous|earlier|current]
        [--candidate KEY=VALUE[,KEY=VALUE]] [--trials 10] [--episodes 10] [--workers 2]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from hop_decision import (  # this script's folder, on sys.path when run
    EARLIER,
    PREVIOUS,
    parse_options,
)
from scipy.stats import binomtest

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
    "current": ("acting default", {}),
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
    parser.add_argument("--baseline", choices=list(BASELINES), default=None)
    parser.add_argument(
        "--candidate",
        default=None,
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="play this configuration (over the acting default) in the default's place; the "
        "baseline is then the acting default unless --baseline names another",
    )
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", default="results/hop-settings-quality.sqlite")
    parser.add_argument("--scenario", action="append", help="scenario (repeatable)")
    args = parser.parse_args()
    scenarios = [load_scenario(name) for name in (args.scenario or SCENARIOS)]
    if args.candidate is None and args.baseline == "current":
        parser.error(
            "--baseline current would play the acting default against itself; "
            "give --candidate KEY=VALUE[,KEY=VALUE] to compare with it"
        )
    if args.candidate is None:
        tried = (DEFAULT_LABEL, {})
        baseline_name = args.baseline or "previous"
    else:
        tried = (args.candidate, parse_options(args.candidate, "--candidate"))
        baseline_name = args.baseline or "current"
    configs = dict([BASELINES[baseline_name], tried])
    store = ResultStore(args.db)  # after every check: a refused command writes nothing
    means: dict[str, dict[str, dict[int, float]]] = {}
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
    second = "default" if args.candidate is None else "candidate"
    print(f"baseline: {baseline}; {second}: {default}")
    print(f"{'scenario':<28} {'baseline':>22} {second:>22} {second + ' - baseline':>24}")
    signs = [0, 0, 0]  # paired trials where the second column is higher, lower, equal
    for scenario in (s.name for s in scenarios):
        a, b = means[baseline][scenario], means[default][scenario]
        trials = sorted(set(a) & set(b))
        for t in trials:
            signs[0 if b[t] > a[t] else 1 if b[t] < a[t] else 2] += 1
        ea, eb = interval([a[t] for t in trials]), interval([b[t] for t in trials])
        ed = interval([b[t] - a[t] for t in trials])
        noise = "within noise" if ed[1] <= 0.0 <= ed[2] else "differs"
        print(
            f"{scenario:<28} {ea[0]:7.2f} [{ea[1]:6.2f},{ea[2]:6.2f}] "
            f"{eb[0]:7.2f} [{eb[1]:6.2f},{eb[2]:6.2f}] "
            f"{ed[0]:+7.2f} [{ed[1]:+6.2f},{ed[2]:+6.2f}] {noise}"
        )

    decided = signs[0] + signs[1]
    p = binomtest(signs[0], decided).pvalue if decided else float("nan")
    print(
        f"paired trials, all scenarios: {signs[0]} higher, {signs[1]} lower, {signs[2]} tied "
        f"(two-sided sign test over the untied: p = {p:.3f})"
    )


if __name__ == "__main__":
    main()
