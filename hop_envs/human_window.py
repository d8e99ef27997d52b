"""A pygame-ce window for ``render_mode="human"`` (optional extra ``hop-bench[human]``)."""

from __future__ import annotations

import numpy as np


class HumanWindow:
    """Shows rgb frames in a window; pygame is imported only when one is opened."""

    def __init__(self, title: str, size_hw: tuple[int, int]) -> None:
        try:
            import pygame
        except ImportError as err:  # pragma: no cover - depends on the extra
            raise ImportError(
                'render_mode="human" needs pygame-ce: pip install "hop-bench[human]"'
            ) from err
        self._pygame = pygame
        pygame.init()
        pygame.display.init()
        self._surface = pygame.display.set_mode((size_hw[1], size_hw[0]))
        pygame.display.set_caption(title)
        self._clock = pygame.time.Clock()

    def show(self, frame: np.ndarray, fps: int) -> None:
        pygame = self._pygame
        pygame.event.pump()
        pygame.surfarray.blit_array(self._surface, np.ascontiguousarray(frame.swapaxes(0, 1)))
        pygame.display.flip()
        self._clock.tick(fps)

    def close(self) -> None:
        self._pygame.display.quit()
