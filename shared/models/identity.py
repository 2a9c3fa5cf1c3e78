"""Who is calling, as established from a verified Firebase ID token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["student", "teacher", "admin"]


class Caller(BaseModel):
    """The verified identity behind a request. ``uid`` is the only identity the code trusts."""

    model_config = ConfigDict(frozen=True)

    uid: str
    role: Role = "student"
    email_verified: bool = False
    sign_in_provider: str | None = None
