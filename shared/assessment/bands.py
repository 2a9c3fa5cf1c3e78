"""From sub-scores to IELTS bands: whole bands per criterion, the Speaking band by the rounding
rule, and the descriptor a band matched."""

from __future__ import annotations

import functools
import math
import tomllib
from pathlib import Path

from shared.config import BandRounding
from shared.models.assessment import CRITERIA, Criterion

DESCRIPTORS_FILE = Path(__file__).with_name("band_descriptors.toml")

ROUNDING_NOTE = {
    "published": "Overall band: the mean of the four criteria, where .25 rounds up to .5 and .75 "
    "up to the next whole band (the published rule for the overall test band; IELTS does not "
    "say whether Speaking uses it too).",
    "nearest_half": "Overall band: the mean of the four criteria rounded to the nearest half band.",
}


def criterion_band(sub_score: float) -> int:
    """A continuous sub-score (0-9) as the whole band awarded on a criterion."""
    if math.isnan(sub_score):
        raise ValueError("a sub-score is a number")
    return int(min(9, max(0, math.floor(sub_score + 0.5))))


def speaking_band(bands: dict[Criterion, int], rounding: BandRounding = "published") -> float:
    """The Speaking band from the four criterion bands.

    ``published``: a mean ending in .25 goes up to .5 and one in .75 up to the next whole band
    (exact quarter steps are all that four whole bands can give). ``nearest_half``: plain
    rounding to the nearest half, ties going up.
    """
    missing = [criterion for criterion in CRITERIA if criterion not in bands]
    if missing:
        raise ValueError(f"every criterion needs a band; missing {missing}")
    mean = sum(bands[criterion] for criterion in CRITERIA) / len(CRITERIA)
    if rounding == "published":
        return math.ceil(mean * 2) / 2  # quarters: .25 -> .5, .75 -> next whole band
    return math.floor(mean * 2 + 0.5) / 2


@functools.cache
def _descriptors() -> dict[str, dict[int, str]]:
    data = tomllib.loads(DESCRIPTORS_FILE.read_text(encoding="utf-8"))
    return {
        criterion: {int(band): str(text) for band, text in data[criterion].items()}
        for criterion in CRITERIA
    }


def descriptors_version() -> str:
    data = tomllib.loads(DESCRIPTORS_FILE.read_text(encoding="utf-8"))
    return str(data["version"])


def descriptor(criterion: Criterion, band: int) -> str:
    """Our paraphrase of what ``band`` looks like on ``criterion`` (bands 0-3 share one)."""
    lines = _descriptors()[criterion]
    return lines[max(3, min(9, band))]
