"""Co-players playing whole episodes of the PettingZoo envs."""

from __future__ import annotations

import pytest

import hop_envs
from hop_envs.coplayers import make_coplayer

LINE_UPS = {
    "MarkovStagHunt-v0": ("nearest-stag", "nearest-stag", "nearest-hare", "random"),
    "MarkovSnowdrift-v0": ("cleaner", "free-rider", "cleaner", "random"),
}


def play(env_id: str, env_seed: int, player_seeds: tuple[int, ...]) -> list[dict]:
    """Every joint action of one episode (asserting none was illegal)."""
    env = hop_envs.make(env_id)
    observations, _ = env.reset(seed=env_seed)
    players = [make_coplayer(name, env_id) for name in LINE_UPS[env_id]]
    for player, seed in zip(players, player_seeds, strict=True):
        player.reset(seed=seed)
        player.start_episode()
    history = []
    while env.agents:
        actions = {a: players[int(a.rsplit("_", 1)[1])].act(observations[a]) for a in env.agents}
        observations, _, _, _, infos = env.step(actions)
        assert not any(info["illegal_action"] for info in infos.values()), infos
        history.append(actions)
    for player in players:
        player.end_episode()
    return history


@pytest.mark.parametrize("env_id", sorted(LINE_UPS))
def test_episodes_are_legal_and_reproducible(env_id):
    first = play(env_id, 4, (1, 2, 3, 4))
    assert first == play(env_id, 4, (1, 2, 3, 4))
    # The seed of the random co-player in seat 3 alone changes the episode.
    assert first != play(env_id, 4, (1, 2, 3, 40))


def test_two_stag_hunters_capture_the_stag():
    # With no walls, one stag and no hares, two nearest-stag players meet on it and hunt.
    env = hop_envs.make(
        "MarkovStagHunt-v0", num_players=2, num_hares=0, num_wall_pieces=0, max_cycles=40
    )
    observations, _ = env.reset(seed=0)
    players = [make_coplayer("nearest-stag", "MarkovStagHunt-v0") for _ in range(2)]
    for seed, player in enumerate(players):
        player.reset(seed=seed)
    total = dict.fromkeys(env.possible_agents, 0.0)
    while env.agents:
        actions = {a: players[int(a[-1])].act(observations[a]) for a in env.agents}
        observations, rewards, _, _, _ = env.step(actions)
        for agent, reward in rewards.items():
            total[agent] += reward
    assert total == {"player_0": 5.0, "player_1": 5.0}
