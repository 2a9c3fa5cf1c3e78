"""What a session cost in paid services: seconds transcribed and characters synthesised.

Kept on the session document (a cost model reads it) and returned with every turn. Only work
an engine actually did counts: an examiner line served from the voice cache costs nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.ports import Transaction

__all__ = ["Usage", "add_synthesis_in_transaction"]


class Usage(BaseModel):
    """Running totals for one session."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    seconds_transcribed: float = Field(default=0.0, ge=0, description="Audio sent to STT.")
    transcriptions: int = Field(default=0, ge=0, description="Speech-to-text requests made.")
    characters_synthesized: int = Field(
        default=0, ge=0, description="Examiner text the TTS engine spoke (cache hits excluded)."
    )
    syntheses: int = Field(default=0, ge=0, description="Examiner lines synthesised.")

    def with_transcription(self, seconds: float) -> Usage:
        return self.model_copy(
            update={
                "seconds_transcribed": round(self.seconds_transcribed + seconds, 3),
                "transcriptions": self.transcriptions + 1,
            }
        )

    def with_synthesis(self, characters: int) -> Usage:
        """Add one synthesised line; ``characters`` 0 (a cache hit or a failure) adds nothing."""
        if characters <= 0:
            return self
        return self.model_copy(
            update={
                "characters_synthesized": self.characters_synthesized + characters,
                "syntheses": self.syntheses + 1,
            }
        )


def add_synthesis_in_transaction(
    transaction: Transaction, session_path: str, characters: int
) -> Usage | None:
    """Add a synthesis made outside a turn's own write (a resumed view, a contended turn).

    Reads and writes the session in ``transaction``; returns the new totals, or None when the
    session is gone.
    """
    found = transaction.get(session_path)
    if found is None:
        return None
    usage = Usage.model_validate(found.data.get("usage") or {}).with_synthesis(characters)
    transaction.set(session_path, {"usage": usage.model_dump()}, merge=True)
    return usage
