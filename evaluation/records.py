"""The unit of stored results: one episode of one trial, as a frozen record."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EpisodeRecord:
    """Everything the reports need about one finished episode.

    Per-seat tuples are in seat order. ``seat_players`` names who sat where (the focal agent's
    name on focal seats). Outcome counts are per seat: stags and hares captured (stag hunt),
    drifts removed (snowdrift); the other game's counts are all zero.
    """

    agent: str
    scenario: str
    env_id: str
    seed: int
    trial: int
    episode: int
    focal_seats: tuple[int, ...]
    seat_players: tuple[str, ...]
    returns: tuple[float, ...]
    length: int
    stags: tuple[int, ...]
    hares: tuple[int, ...]
    drifts: tuple[int, ...]
    package_version: str
    config_hash: str
    #: Digest of the scenario's definition (:func:`evaluation.jobs.scenario_hash`): the same
    #: name with another definition (a user's file) is another scenario.
    scenario_hash: str = ""
    #: Co-player prediction scores of the focal agent (:mod:`evaluation.prediction_scores`,
    #: :class:`~evaluation.prediction_scores.EpisodeScores`); all None for an agent without
    #: ``predict_coplayers`` (and in databases written before they existed).
    om_count: int | None = None
    om_loglik: float | None = None
    om_accuracy: float | None = None
    om_brier: float | None = None
    om_uniform_loglik: float | None = None
    om_uniform_accuracy: float | None = None
    om_uniform_brier: float | None = None
    om_exact_count: int | None = None
    om_exact_loglik: float | None = None
    om_exact_accuracy: float | None = None
    om_exact_brier: float | None = None
    om_goal_count: int | None = None
    om_goal_prob: float | None = None

    def __post_init__(self) -> None:
        n = len(self.returns)
        for name in ("seat_players", "stags", "hares", "drifts"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"EpisodeRecord.{name} must have one entry per seat ({n}), "
                    f"got {len(getattr(self, name))}"
                )
        if not self.focal_seats or any(not 0 <= s < n for s in self.focal_seats):
            raise ValueError(
                f"EpisodeRecord.focal_seats must be seats in [0, {n}), got {self.focal_seats}"
            )

    @property
    def background_seats(self) -> tuple[int, ...]:
        return tuple(s for s in range(len(self.returns)) if s not in self.focal_seats)

    @property
    def focal_return(self) -> float:
        """Per-capita return of the focal seats."""
        return sum(self.returns[s] for s in self.focal_seats) / len(self.focal_seats)

    @property
    def background_return(self) -> float:
        """Per-capita return of the background seats (NaN in self-play)."""
        seats = self.background_seats
        return sum(self.returns[s] for s in seats) / len(seats) if seats else math.nan

    @property
    def welfare(self) -> float:
        """Total return of all seats."""
        return float(sum(self.returns))
