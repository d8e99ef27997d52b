"""What a smaller opponent model would save per ``hop`` decision (speed only, untrained).

Builds untrained network pairs (the default focal net and an opponent model of each size
asked for, plus the default sizes as the baseline), saves each pair where ``hop``'s
``weights`` argument can load it, and has the acting default decide from the same positions
of the default stag hunt with each, in turns (``benchmarks/hop_decision.py``'s timing: CPU
time, one torch thread). Untrained models answer differently from trained ones, so the
searches differ a little in shape too; this measures what a size costs, not how well a
model of that size would play (that needs a retrained checkpoint and the quality comparison
on the training scenarios).

Prints each size's CPU median and the geometric mean of its per-position time over the
baseline's.

    python benchmarks/hop_om_size.py [--decisions 20] [--size 8,8:64] [--size 8,16:128]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from hop_decision import hop_agent, report, time_interleaved

from agents.hop.agent import FOCAL_DIR, OM_DIR
from agents.hop.networks import FOCAL, GOAL_OM, NetworkConfig, build_network, save_network
from hop_envs.core import StagHuntConfig, StagHuntRules
from hop_envs.core.positions import random_positions

DEFAULT_SIZES = ("8,8:64", "8,16:128", "16,16:64")


def parse_size(text: str) -> tuple[tuple[int, ...], int]:
    """``"C1,C2:HIDDEN"`` as (conv channels, hidden units); a clear error else."""
    conv, sep, hidden = text.partition(":")
    try:
        channels = tuple(int(c) for c in conv.split(","))
        units = int(hidden)
    except ValueError:
        channels, units = (), 0
    if not sep or not channels or min(channels) < 1 or units < 1:
        raise SystemExit(
            f"--size: expected CONV,CONV:HIDDEN with positive integers (e.g. 8,8:64), got {text!r}"
        )
    return channels, units


def save_pair(root: Path, rules: StagHuntRules, channels: tuple[int, ...], hidden: int) -> Path:
    """An untrained default focal net and an opponent model of the given size, saved as a
    ``hop`` weights folder under ``root``."""
    folder = root / f"om_{'x'.join(map(str, channels))}_{hidden}"
    focal = build_network(NetworkConfig.for_rules(rules, FOCAL), 0)
    om = build_network(
        NetworkConfig.for_rules(rules, GOAL_OM, conv_channels=channels, hidden=hidden), 1
    )
    save_network(focal, folder / FOCAL_DIR)
    save_network(om, folder / OM_DIR)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20, help="positions to decide from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="CONV,CONV:HIDDEN",
        help=f"an opponent-model size to time (repeatable; default {', '.join(DEFAULT_SIZES)})",
    )
    args = parser.parse_args()
    sizes = [parse_size(text) for text in (args.size or DEFAULT_SIZES)]
    torch.set_num_threads(1)
    rules = StagHuntRules(StagHuntConfig())
    defaults = NetworkConfig.for_rules(rules, GOAL_OM)
    states = random_positions(rules, args.decisions, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        pairs = [(defaults.conv_channels, defaults.hidden), *sizes]
        agents = [
            hop_agent(args.seed, weights=str(save_pair(Path(tmp), rules, c, h))) for c, h in pairs
        ]
        searches = [(a.planner, a.search_policy, a.evaluator) for a in agents]
        time_interleaved(searches, rules, states[:2], args.seed)  # warm-up (compiled code)
        times = time_interleaved(searches, rules, states, args.seed)
    base_cpu = np.asarray(times[0][1])
    print(
        f"hop acting default, untrained networks, {len(states)} positions of "
        "MarkovStagHunt-v0 in turns; opponent model conv channels : hidden units"
    )
    for (channels, hidden), (wall, cpu) in zip(pairs, times, strict=True):
        label = f"{','.join(map(str, channels))}:{hidden}"
        ratio = float(np.exp(np.log(np.asarray(cpu) / base_cpu).mean()))
        report(f"opponent model {label:<10}", (wall, cpu), 200)
        print(f"  time / default sizes per position: geometric mean {ratio:.3f}")


if __name__ == "__main__":
    main()
