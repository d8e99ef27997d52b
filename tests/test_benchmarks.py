"""Budget runs of the HOP benchmarks: they run end to end and print their figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def invoke(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def run(script: str, *args: str) -> str:
    done = invoke(script, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_hop_decision_prints_every_configuration_and_the_figures() -> None:
    out = run(
        "hop_decision.py",
        "--decisions",
        "2",
        "--phases",
        "--compare",
        "rollout_depth=15,num_trees=4",
    )
    for label in (
        "earlier default, no cache",
        "earlier default, exact cache",
        "earlier default, own-cell cache",
        "previous acting default",
        "acting default, numpy rollouts",
        "acting default",
    ):
        assert f"hop {label}:" in out
    assert re.search(
        r"^hop with rollout_depth=15,num_trees=4: 4 x 40 sims, .*rollout depth 15 ",
        out,
        re.MULTILINE,
    )
    paired = re.search(
        r"^hop with rollout_depth=15,num_trees=4 against the acting default, CPU time per "
        r"position: median ratio (\d+\.\d+), geometric mean (\d+\.\d+), faster on (\d) of 2 "
        r"positions$",
        out,
        re.MULTILINE,
    )
    assert paired is not None and float(paired[1]) > 0.0 and float(paired[2]) > 0.0
    gap = re.search(r"total variation mean (\d\.\d+), 90th percentile (\d\.\d+)", out)
    assert gap is not None and 0.0 <= float(gap[1]) <= 1.0
    fields = re.search(
        r"own-cell fields per decision \(median\): (\d+) opponent-model rows in (\d+) calls, "
        r"of which (\d+) distinct \(field, cell\) answers are read \((\d+)% of the rows\)",
        out,
    )
    assert fields is not None
    rows, calls, read, share = (int(x) for x in fields.groups())
    # Every answer read comes from a computed row of a field, and a call computes >= 1 row.
    assert 0 < read <= rows and 0 < calls <= rows and 0 < share <= 100
    phases = dict(re.findall(r"^ +(\S.*?\S) +(\d+\.\d) ms$", out, re.MULTILINE))
    for part, whole in (
        ("  of which the compiled rollout loop", "leaf valuation (planner._evaluate)"),
        ("  of which focal priors", "expansion (planner._expand)"),
        ("  of which opponent-model forward", "co-player fields computed (both)"),
    ):
        assert 0.0 < float(phases[part.strip()]) <= float(phases[whole]), (part, phases)
    assert float(phases["node creation (create_children)"]) > 0.0
    figure = re.search(r"^hop_agent_ms_per_decision=(\d+\.\d)$", out, re.MULTILINE)
    assert figure is not None and float(figure[1]) > 0.0
    assert "hop-plus acting default (shipped weights)" in out
    plus = re.search(r"^hop_plus_ms_per_decision=(\d+\.\d)$", out, re.MULTILINE)
    assert plus is not None and float(plus[1]) > 0.0


def test_hop_om_size_times_each_size_against_the_default_sizes() -> None:
    out = run("hop_om_size.py", "--decisions", "2", "--size", "8,8:64")
    for label in ("16,16:128", "8,8:64"):
        assert re.search(rf"^opponent model {label}\s+wall median", out, re.MULTILINE), label
    ratios = re.findall(r"time / default sizes per position: geometric mean (\d+\.\d+)", out)
    assert len(ratios) == 2 and float(ratios[0]) == 1.0 and float(ratios[1]) > 0.0
    bad = invoke("hop_om_size.py", "--size", "8x8")
    assert bad.returncode != 0
    assert "--size: expected CONV,CONV:HIDDEN with positive integers" in bad.stderr
    assert "'8x8'" in bad.stderr


def settings_quality(tmp_path: Path, *args: str) -> str:
    """A budget run of ``hop_settings_quality.py``: 2 trials x 1 episode, one scenario."""
    budget = ("--trials", "2", "--episodes", "1", "--scenario", "msh/adapt-1v3-nearest-hare")
    return run("hop_settings_quality.py", *args, *budget, "--db", str(tmp_path / "q.sqlite"))


def test_hop_settings_quality_compares_both_configurations_on_paired_trials(tmp_path) -> None:
    out = settings_quality(tmp_path)
    row = re.search(r"^msh/adapt-1v3-nearest-hare\s+(.+)$", out, re.MULTILINE)
    assert row is not None
    numbers = re.findall(r"[-+]?\d+\.\d\d", row[1])
    assert len(numbers) == 9  # two means with intervals, and the paired difference's
    assert row[1].rstrip().endswith(("within noise", "differs"))
    signs = re.search(
        r"^paired trials, all scenarios: (\d+) higher, (\d+) lower, (\d+) tied", out, re.M
    )
    assert signs is not None and sum(int(n) for n in signs.groups()) == 2  # one per trial


def test_hop_settings_quality_plays_a_candidate_against_the_acting_default(tmp_path) -> None:
    out = settings_quality(tmp_path, "--candidate", "rollout_depth=5")
    assert "baseline: acting default; candidate: rollout_depth=5" in out
    assert re.search(r"^msh/adapt-1v3-nearest-hare\s+.+(within noise|differs)$", out, re.M)
    refused = tmp_path / "refused.sqlite"
    done = invoke("hop_settings_quality.py", "--candidate", "rollout_depth", "--db", str(refused))
    assert done.returncode != 0
    assert "--candidate: expected KEY=VALUE[,KEY=VALUE], got 'rollout_depth'" in done.stderr
    assert not refused.exists()
    itself = invoke("hop_settings_quality.py", "--baseline", "current", "--db", str(refused))
    assert itself.returncode == 2
    assert "--baseline current would play the acting default against itself" in itself.stderr
    assert not refused.exists()


def test_the_throughput_benchmarks_action_sampler_is_uniform_over_the_legal_actions() -> None:
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location(
        "env_throughput", ROOT / "benchmarks" / "env_throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    mask = np.array([1, 1, 0, 0, 1, 0, 1], dtype=np.int8)
    draws = module.random_legal(rng, np.tile(mask, (40_000, 1)))
    shares = np.bincount(draws, minlength=7) / draws.size
    assert np.allclose(shares, mask / mask.sum(), atol=0.01)  # 1/4 each, 4 sd ~ 0.009
    for pattern in range(1, 128):  # every mask: only its legal actions, all of them
        legal = np.array([pattern >> a & 1 for a in range(7)], dtype=np.int8)
        seen = set(module.random_legal(rng, np.tile(legal, (500, 1))).tolist())
        assert seen == set(np.flatnonzero(legal).tolist()), pattern


def test_hop_decision_refuses_a_malformed_compare_option() -> None:
    done = invoke("hop_decision.py", "--compare", "depth")
    assert done.returncode != 0
    assert "--compare: expected KEY=VALUE[,KEY=VALUE], got 'depth'" in done.stderr


def worktrees() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in listed.stdout.splitlines() if line.startswith("worktree ")]


def test_hop_decision_revisions_times_both_sides_in_turns_and_removes_its_worktree() -> None:
    before = worktrees()
    out = run("hop_decision_revisions.py", "--base", "HEAD", "--decisions", "2")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert re.search(rf"^base HEAD \({head}\) +median +\d+\.\d ms", out, re.MULTILINE)
    assert re.search(r"^new working tree +median +\d+\.\d ms", out, re.MULTILINE)
    assert "new faster on" in out and "of 2 positions" in out
    ratio = re.search(r"^hop_revision_ratio=(\d+\.\d+)$", out, re.MULTILINE)
    assert ratio is not None and float(ratio[1]) > 0.0
    assert worktrees() == before


def test_hop_decision_revisions_refuses_an_unknown_revision() -> None:
    done = invoke("hop_decision_revisions.py", "--base", "no-such-revision")
    assert done.returncode == 2
    assert "'no-such-revision' is not a commit of the repository" in done.stderr


def test_hop_networks_times_every_network_at_the_sizes_given() -> None:
    out = run("hop_networks.py", "--repeats", "1", "--conv-channels", "8,8", "--hidden", "64")
    assert "conv channels 8,8, hidden 64" in out
    for kind in ("focal", "goal_om", "action_model"):
        rows = re.findall(
            rf"^\s+{kind}\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+(\d+|-)\s+\d+\s+\d+$", out, re.MULTILINE
        )
        assert [int(batch) for _, batch, _ in rows] == [1, 5, 20, 64] * 2  # both games
        # Only the focal net has a compiled pass of its own (the models' is per field).
        assert all((compiled == "-") == (kind != "focal") for _, _, compiled in rows)
    fields = re.findall(
        r"^goal_om fields: ([13]) x (\d+) cells: incremental (\d+) us, forward pass on the "
        r"spread states (\d+) us$",
        out,
        re.MULTILINE,
    )
    assert [count for count, *_ in fields] == ["1", "3"] * 2  # both games
    assert all(int(cells) > 0 and int(a) > 0 and int(b) > 0 for _, cells, a, b in fields)
    # The focal net's parameters at these sizes, counted by hand for the stag hunt (7 input
    # channels, 8 x 8, 7 actions): convs 7*8*9+8 and 8*8*9+8, hidden (8*64+1)*64+64,
    # policy 64*7+7, value 64+1.
    focal = re.search(r"^\s+focal\s+(\d+)\s+1\s", out, re.MULTILINE)
    assert focal is not None
    assert int(focal[1]) == (7 * 8 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 64 + 1) * 64 + 64 + (
        64 * 7 + 7
    ) + (64 + 1)
