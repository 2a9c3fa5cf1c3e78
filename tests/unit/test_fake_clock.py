"""FixedClock: moves only when told to, always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.fakes import FixedClock


def test_time_stands_still_until_advanced() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.advance(minutes=5) == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert clock.advance(timedelta(days=1)) == datetime(2026, 1, 2, 0, 5, tzinfo=UTC)


def test_times_are_utc() -> None:
    clock = FixedClock(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)


def test_naive_times_and_going_back_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 1, 1))
    clock = FixedClock()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(seconds=-1)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 1, 1))
