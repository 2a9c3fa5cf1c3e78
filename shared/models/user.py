"""A learner's (or teacher's) profile as stored and as returned by the API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.models.identity import Role

_EMOJI_JOINER = re.compile("(?<=\\S)\u200d(?=\\S)")

ExaminerVoice = Literal["british", "american", "australian"]

# First languages with dedicated grammar patterns; any other ISO 639-1 code is accepted too.
FIRST_LANGUAGES_WITH_PATTERNS = ("uz", "ru", "zh", "ar", "es", "vi", "hi")


def _check_band(value: float | None) -> float | None:
    if value is not None and (value * 2) != int(value * 2):
        raise ValueError("a band is a whole or half number, like 6.5")
    return value


class Preferences(BaseModel):
    """What a learner chooses about their own practice."""

    model_config = ConfigDict(extra="forbid")

    target_band: float | None = Field(default=None, ge=4.0, le=9.0, examples=[7.0])
    first_language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}$",
        description="ISO 639-1 code of the learner's first language, e.g. 'uz' or 'vi'.",
    )
    examiner_voice: ExaminerVoice = "british"
    display_name: str | None = Field(default=None, min_length=1, max_length=60)

    _band = field_validator("target_band")(_check_band)


class PreferencesUpdate(BaseModel):
    """PATCH /users/me: only the fields present are changed; null clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    target_band: float | None = Field(default=None, ge=4.0, le=9.0)
    first_language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    examiner_voice: ExaminerVoice | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=60)

    _band = field_validator("target_band")(_check_band)

    @field_validator("display_name")
    @classmethod
    def _printable_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = " ".join(value.split())
        # A zero-width joiner inside an emoji sequence (👩🏽‍🏫) is part of a printable name.
        visible = _EMOJI_JOINER.sub("", cleaned)
        if not visible or any(not char.isprintable() for char in visible):
            raise ValueError("a display name is printable text")
        return cleaned


class UserProfile(BaseModel):
    """GET /users/me, and the stored users/{uid} document."""

    uid: str
    role: Role
    preferences: Preferences
    created_at: datetime
    updated_at: datetime
