"""write_report's files: exact Markdown cells, footnotes, CSV/JSON round trips, PNG curves."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation.records import EpisodeRecord
from evaluation.references import ReferenceResult
from evaluation.report import (
    AgentScore,
    CurvePoint,
    ScenarioSummary,
    adaptation_figure,
    read_csv,
    read_json,
    render_markdown,
    summarize,
    write_report,
)
from evaluation.report.markdown import _change
from evaluation.report.summary import Improvement, TrialScore

MSH, MSG = "MarkovStagHunt-v0", "MarkovSnowdrift-v0"
RULES = {MSH: ("random", "nearest-stag", "nearest-hare"), MSG: ("random", "free-rider", "cleaner")}
S1, S2, SP = "msh/adapt-1v3-nearest-stag", "msh/adapt-1v3-nearest-hare", "msg/selfplay"


def rule_based(env_id: str) -> tuple[str, ...]:
    return RULES[env_id]


def rec(agent, scenario, trial, episode, focal_return, *, env_id=MSH, selfplay=False):
    focal = (0, 1, 2, 3) if selfplay else (0,)
    returns = (focal_return,) * 4 if selfplay else (focal_return, 1.0, 1.0, 1.0)
    return EpisodeRecord(
        agent=agent,
        scenario=scenario,
        env_id=env_id,
        seed=0,
        trial=trial,
        episode=episode,
        focal_seats=focal,
        seat_players=(agent,) * 4 if selfplay else (agent, "c", "c", "c"),
        returns=returns,
        length=5,
        stags=(1, 0, 0, 0),
        hares=(0, 1, 0, 0),
        drifts=(0, 0, 0, 0),
        package_version="0.1.0",
        config_hash="h",
    )


#: Shipped references of S1 only: random 1 = 0, nearest-stag 3 = 1 (the records' digest "").
REFERENCES = {
    S1: [
        ReferenceResult(S1, "hop/" + MSH, "random", 30, 10, 1.0, 0.0, "", "h"),
        ReferenceResult(S1, "hop/" + MSH, "nearest-stag", 30, 10, 3.0, 0.0, "", "h"),
    ]
}


def records() -> list[EpisodeRecord]:
    """S1: random 1, nearest-stag 3, agent episodes (1, 3) in both trials -> mean 2, ci 0.
    S2: no references -> blank normalized score. SP: agent alone, one trial (no CI)."""
    out = []
    for t in range(2):
        for e in range(2):
            out.append(rec("random", S1, t, e, 1.0))
            out.append(rec("nearest-stag", S1, t, e, 3.0))
            out.append(rec("agent", S1, t, e, 1.0 + 2.0 * e))
            out.append(rec("nearest-stag", S2, t, e, 4.0))
            out.append(rec("agent", S2, t, e, 2.0))
    out.append(rec("agent", SP, 0, 0, 5.0, env_id=MSG, selfplay=True))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = write_report(
        records(), out, rule_based=rule_based, last_episodes=1, references=REFERENCES
    )
    return paths, out


def table_rows(markdown: str, heading: str, env: str) -> list[str]:
    """The table lines under ``### heading`` in the ``## env`` section."""
    section = markdown.split(f"## {env}\n", 1)[1].split("\n## ", 1)[0]
    block = section.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    return [line for line in block.splitlines() if line.startswith("|")]


def test_markdown_return_table_cells(report) -> None:
    paths, _ = report
    text = paths.markdown.read_text()
    assert "95% confidence interval over trials (Student t" in text
    rows = table_rows(text, "Focal per-capita return", MSH)
    assert rows[0] == "| agent | adapt-1v3-nearest-hare | adapt-1v3-nearest-stag |"
    assert rows[2:] == [
        "| random |  | 1.00 ± 0.00 |",
        "| nearest-stag | 4.00 ± 0.00 | 3.00 ± 0.00 |",
        "| agent | 2.00 ± 0.00 | 2.00 ± 0.00 |",
    ]
    assert table_rows(text, "Focal per-capita return", MSG)[2:] == ["| agent | 5.00 ± n/a |"]


def test_markdown_normalized_scores_and_footnotes(report) -> None:
    paths, _ = report
    text = paths.markdown.read_text()
    rows = table_rows(text, "Normalized score", MSH)
    assert rows[0] == "| agent | adapt-1v3-nearest-hare | adapt-1v3-nearest-stag |"
    # Footnotes are numbered in reading order and shared by identical reasons.
    assert rows[2:] == [
        "| random |  | 0.00 |",
        "| nearest-stag | —[^msh-1] | 1.00 |",
        "| agent | —[^msh-1] | 0.50 |",
    ]
    assert (
        f"[^msh-1]: no normalized score in {S2}: no shipped references for this scenario "
        "definition and the database lacks the reference agents nearest-hare, random"
    ) in text
    assert table_rows(text, "Normalized score", MSG)[2:] == ["| agent | —[^msg-1] |"]
    # The training-population aggregate needs a score in every one of its scenarios.
    # The training-population aggregate leaves out S2, which has no reference scale: agent's
    # S1 trials are both 0.5 (episodes 1 and 3 around random 1 and nearest-stag 3).
    aggregate = table_rows(text, f"Aggregate normalized score: {MSH}", MSH)
    assert aggregate[0] == "| agent | training IQM [95% CI] (1 scenarios) |"
    assert "| agent | 0.50 [0.50, 0.50] (n=2) |" in aggregate
    assert f"training aggregate without {S2}: no reference scale there" in text


def test_markdown_details_table(report) -> None:
    paths, _ = report
    text = paths.markdown.read_text()
    rows = table_rows(text, "Details", MSH)
    assert rows[0] == (
        "| scenario | agent | trials | episodes | focal return | last 1 episodes | "
        "last - first 1 | background return | welfare | stags / focal | hares / focal |"
    )
    # agent in S1: episodes (1, 3) in both trials: last episode 3, change 3 - 1 = +2 in each
    # (interval 0, so it rises); background 1; welfare 2 + 3 = 5.
    assert (
        "| adapt-1v3-nearest-stag | agent | 2 | 2 | 2.00 ± 0.00 | 3.00 ± 0.00 "
        "| +2.00 ± 0.00 **rises** | 1.00 ± 0.00 | 5.00 ± 0.00 | 1.00 | 0.00 |"
    ) in rows
    # One episode holds no two windows.
    assert table_rows(text, "Details", MSG)[2:] == [
        "| selfplay | agent | 1 | 1 | 5.00 ± n/a | 5.00 ± n/a | — | — | 20.00 ± n/a | 0.00 |"
    ]


def test_within_trial_change_cells() -> None:
    assert _change(None, None) == "—"
    assert _change(0.2, None) == "+0.20 ± n/a"
    assert _change(0.2, 0.5) == "+0.20 ± 0.50"  # within noise: not named
    assert _change(-0.5, 0.5) == "-0.50 ± 0.50"  # an interval touching 0 is within noise
    assert _change(1.0, 0.5) == "+1.00 ± 0.50 **rises**"
    assert _change(-1.0, 0.25) == "-1.00 ± 0.25 **falls**"


def test_csv_and_json_round_trip(report) -> None:
    paths, _ = report
    summary = summarize(records(), rule_based=rule_based, last_episodes=1, references=REFERENCES)
    assert read_csv(paths.summary_csv, ScenarioSummary) == summary.rows
    assert read_csv(paths.curves_csv, CurvePoint) == summary.curves
    assert read_csv(paths.scores_csv, AgentScore) == summary.scores
    assert read_json(paths.json) == summary
    assert read_csv(paths.trial_scores_csv, TrialScore) == summary.trial_scores
    assert read_csv(paths.improvements_csv, Improvement) == summary.improvements
    # summary.csv keeps its documented columns (a stable export)
    with paths.summary_csv.open(newline="") as fh:
        header = next(csv.reader(fh))
    for column in ("env_id", "scenario", "agent", "trials", "focal_mean", "focal_ci", "normalized"):
        assert column in header
    # The files are plain CSV/JSON a user can read with anything: spot-check one value each.
    with paths.summary_csv.open(newline="") as fh:
        by_key = {(r["scenario"], r["agent"]): r for r in csv.DictReader(fh)}
    assert float(by_key[(S1, "agent")]["normalized"]) == 0.5
    assert by_key[(S2, "agent")]["normalized"] == ""
    assert by_key[(SP, "agent")]["focal_ci"] == ""
    data = json.loads(paths.json.read_text())
    curve = [(c["episode"], c["mean"]) for c in data["curves"] if c["scenario"] == S1]
    assert (0, 1.0) in curve and (1, 3.0) in curve


def test_read_csv_rejects_foreign_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="do not match CurvePoint fields"):
        read_csv(path, CurvePoint)


def test_pngs_are_valid_images_one_per_scenario(report) -> None:
    paths, out = report
    names = sorted(p.name for p in paths.plots)
    assert names == [
        "MarkovSnowdrift-v0__msg_selfplay.png",
        "MarkovStagHunt-v0__msh_adapt-1v3-nearest-hare.png",
        "MarkovStagHunt-v0__msh_adapt-1v3-nearest-stag.png",
    ]
    for path in paths.plots:
        assert path.parent == out / "plots"
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG"
            pixels = np.asarray(image.convert("RGB"))
            assert image.size[0] > 300 and image.size[1] > 200
            assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 10  # something was drawn
        assert f"(plots/{path.name})" in paths.markdown.read_text()


def test_curve_figure_has_one_line_per_agent_with_the_means() -> None:
    summary = summarize(records(), rule_based=rule_based)
    points = [p for p in summary.curves if p.scenario == S1]
    fig = adaptation_figure(points, agents=["random", "nearest-stag", "agent"], confidence=0.95)
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "random (n=2)",
        "nearest-stag (n=2)",
        "agent (n=2)",
    ]
    assert [list(line.get_ydata()) for line in lines] == [[1.0, 1.0], [3.0, 3.0], [1.0, 3.0]]
    assert list(lines[2].get_xdata()) == [0, 1]
    assert len(ax.collections) == 3  # one shaded CI band per agent (two trials each)


def test_curve_figure_without_ci_draws_no_band() -> None:
    summary = summarize(records(), rule_based=rule_based)
    points = [p for p in summary.curves if p.scenario == SP]
    fig = adaptation_figure(points, agents=["agent"], confidence=0.95)
    assert len(fig.axes[0].get_lines()) == 1
    assert len(fig.axes[0].collections) == 0


def test_curve_figure_bad_input() -> None:
    summary = summarize(records(), rule_based=rule_based)
    with pytest.raises(ValueError, match="needs the points of one scenario"):
        adaptation_figure(list(summary.curves), agents=["agent"], confidence=0.95)
    points = [p for p in summary.curves if p.scenario == S1]
    with pytest.raises(ValueError, match="no curve points for agent 'nobody'"):
        adaptation_figure(points, agents=["nobody"], confidence=0.95)


def test_markdown_notes_incomplete_and_unsummarised_trials() -> None:
    # S1: trials 0 and 1 complete (episodes 0, 1), trial 2 only episode 0 -> left out, counted.
    # S2: trial 0 has only episode 0 and trial 1 only episode 1 -> nothing to summarise.
    recs = [rec("agent", S1, t, e, 1.0) for t in range(2) for e in range(2)]
    recs += [rec("agent", S1, 2, 0, 1.0), rec("agent", S2, 0, 0, 1.0), rec("agent", S2, 1, 1, 1.0)]
    text = render_markdown(summarize(recs, rule_based=rule_based), rule_based=rule_based)
    assert "Trials left out because they lack episodes (an interrupted run):" in text
    assert f"- agent in {S1}: 1" in text
    assert "## Not summarised" in text
    assert f"- agent in {S2}: none of its 2 trial(s) has all 2 episodes yet" in text
    assert "adapt-1v3-nearest-hare" not in table_rows(text, "Focal per-capita return", MSH)[0]


def test_markdown_footnote_when_the_references_are_too_close() -> None:
    close = {
        S1: [
            ReferenceResult(S1, "hop/" + MSH, "random", 30, 10, 1.0, 0.3, "", "h"),
            ReferenceResult(S1, "hop/" + MSH, "nearest-stag", 30, 10, 1.5, 0.3, "", "h"),
        ]
    }
    recs = [rec("agent", S1, t, 0, 1.2) for t in range(2)]
    summary = summarize(recs, rule_based=rule_based, references=close)
    text = render_markdown(summary, rule_based=rule_based)
    assert table_rows(text, "Normalized score", MSH)[2:] == ["| agent | —[^msh-1] |"]
    assert f"[^msh-1]: no normalized score in {S1}: its references are too close" in text


def test_importing_the_report_package_does_not_import_matplotlib_or_torch() -> None:
    code = (
        "import sys, evaluation.report; "
        "bad = [m for m in ('matplotlib', 'torch') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr or done.stdout
