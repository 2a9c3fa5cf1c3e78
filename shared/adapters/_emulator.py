"""Emulator hosts: Settings decide, the client libraries read ``os.environ``."""

from __future__ import annotations

import os

from shared.config import ConfigurationError


def ensure_emulator_env(variable: str, configured: str | None) -> None:
    """Make the process environment agree with Settings about an emulator host.

    The Google client libraries read emulator hosts only from ``os.environ``; Settings are the
    source of truth, so a host set there is exported and a conflicting one refused. A host
    absent from Settings is left alone (production Settings are read from that environment).
    """
    if configured is None:
        return
    current = os.environ.get(variable)
    if current is None:
        os.environ[variable] = configured
    elif current != configured:
        raise ConfigurationError(
            f"{variable} is {current!r} in the environment but {configured!r} in Settings"
        )
