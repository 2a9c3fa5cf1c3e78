"""Band rules: whole criterion bands, the Speaking band's rounding, the descriptors."""

from __future__ import annotations

import pytest

from shared.assessment.bands import (
    _descriptors,
    criterion_band,
    descriptor,
    descriptors_version,
    speaking_band,
)
from shared.models.assessment import CRITERIA


@pytest.mark.parametrize(
    ("sub_score", "band"), [(0.0, 0), (5.49, 5), (5.5, 6), (6.2, 6), (8.7, 9), (11.0, 9), (-2, 0)]
)
def test_a_criterion_gets_a_whole_band(sub_score: float, band: int) -> None:
    assert criterion_band(sub_score) == band


def _bands(fc: int, lr: int, gra: int, p: int) -> dict[str, int]:
    return dict(zip(CRITERIA, (fc, lr, gra, p), strict=True))


@pytest.mark.parametrize(
    ("bands", "published", "nearest_half"),
    [
        ((6, 6, 6, 6), 6.0, 6.0),
        ((6, 6, 6, 7), 6.5, 6.5),  # mean 6.25: the published rule goes up to 6.5
        ((6, 6, 7, 7), 6.5, 6.5),
        ((6, 7, 7, 7), 7.0, 7.0),  # mean 6.75: up to the next whole band
        ((5, 5, 5, 6), 5.5, 5.5),
        ((9, 9, 9, 8), 9.0, 9.0),
    ],
)
def test_speaking_band_rounding(
    bands: tuple[int, int, int, int], published: float, nearest_half: float
) -> None:
    assert speaking_band(_bands(*bands), "published") == published  # type: ignore[arg-type]
    assert speaking_band(_bands(*bands), "nearest_half") == nearest_half  # type: ignore[arg-type]


def test_the_rules_differ_only_where_the_setting_matters() -> None:
    # With four whole bands the mean is a quarter step; .25 and .75 are the cases in question.
    assert speaking_band(_bands(5, 5, 5, 6), "published") == 5.5  # type: ignore[arg-type]
    assert speaking_band(_bands(4, 4, 4, 5), "nearest_half") == 4.5  # type: ignore[arg-type]


def test_every_criterion_is_needed() -> None:
    with pytest.raises(ValueError, match="pronunciation"):
        speaking_band({"fluency_coherence": 6, "lexical_resource": 6, "grammar": 6})  # type: ignore[dict-item]


def test_descriptors_cover_every_criterion_and_band() -> None:
    descriptors = _descriptors()
    assert set(descriptors) == set(CRITERIA)
    for lines in descriptors.values():
        assert set(lines) == set(range(3, 10))
        assert len(set(lines.values())) == len(lines)
    assert descriptor("grammar", 1) == descriptor("grammar", 3)
    assert "complex" in descriptor("grammar", 7)
    assert descriptors_version()
