"""Where a turn's time goes, stage by stage, for the ``Server-Timing`` header and the logs.

Stages of a turn: ``store`` (the original bytes to Cloud Storage), ``decode`` (audio intake),
``stt``, ``policy`` (the examiner's move), ``llm`` (follow-up wording, when a language model
writes it), ``tts`` and ``firestore`` (the turn's transaction). A stage run twice (a
transaction retried) adds up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StageTimes"]


class StageTimes:
    """Milliseconds spent per stage of one request."""

    def __init__(self) -> None:
        self.milliseconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = (time.perf_counter() - started) * 1000
            self.milliseconds[name] = self.milliseconds.get(name, 0.0) + spent

    def rounded(self) -> dict[str, float]:
        return {name: round(ms, 1) for name, ms in self.milliseconds.items()}
