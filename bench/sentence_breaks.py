"""Where a pause falls: the language model's sentence-break odds on learners' essays (printed,
never asserted).

    .venv/bin/python -m bench.sentence_breaks --data ../shared/data/ellipse-dev/ellipse_dev.csv
        [--essays 150]

A transcript has no punctuation, so ``fluency`` decides whether a pause is between ideas or
inside a phrase from the words either side: closed word lists first, then, where those say
nothing, the trigram model's odds of a sentence break against the words running on
(``naturalness.sentence_break_odds``, threshold ``fluency.SENTENCE_BREAK_ODDS``). Learners' essays
keep the punctuation their writers put in, so every gap between two words is labelled: a
sentence end (. ! ?), a comma or semicolon, or nothing. With the punctuation taken out, the
command prints the odds' AUC (sentence ends, and commas, against unmarked gaps) and, at
several thresholds, the share of each kind of gap the model would call a boundary. Unmarked
gaps include the clause boundaries of run-on sentences, so their share is an upper bound on
false boundaries. The synthetic-speech side of the same decision (placed pauses, mid-clause
or at a boundary) is printed by ``bench.audio_eval --sections pauses``.

Last run (2026-11-22, 150 essays in a fixed shuffle, 62,573 gaps): AUC 0.952 (sentence ends
vs unmarked), 0.886 (commas vs unmarked); at -1.0 (the product's) 89% of sentence ends, 68%
of commas and 12% of unmarked gaps count as boundaries. On flite speech (bench.audio_eval,
product threshold) pause location was right for 226/268 matched pauses on answers 0-3 (73%
without the model) and 108/136 on held-out answers 4-5 (74% without).

The data stays outside the repository (CC BY-NC-SA).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import random
import re
from collections.abc import Sequence
from pathlib import Path

from shared.assessment.fluency import SENTENCE_BREAK_ODDS
from shared.assessment.naturalness import available, sentence_break_odds

_TOKEN = re.compile(r"[A-Za-z']+|[.!?,;]")
THRESHOLDS = (-2.0, -1.5, -1.0, -0.5)


def labelled_gaps(text: str) -> list[tuple[list[str], list[str], str]]:
    """(two words before, two after, the mark written in the gap: "." "," or "")."""
    words: list[str] = []
    marks: list[str] = []
    for token in _TOKEN.findall(text):
        if token in {".", "!", "?"}:
            if marks:
                marks[-1] = "."
        elif token in {",", ";"}:
            if marks and not marks[-1]:
                marks[-1] = ","
        else:
            words.append(token.lower())
            marks.append("")
    return [
        (words[max(0, i - 1) : i + 1], words[i + 1 : i + 3], marks[i])
        for i in range(len(words) - 1)
    ]


def _auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    ordered = sorted(negatives)
    wins = 0.0
    for value in positives:
        low, high = bisect.bisect_left(ordered, value), bisect.bisect_right(ordered, value)
        wins += low + 0.5 * (high - low)
    return wins / (len(positives) * len(negatives))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="ELLIPSE csv (full_text)")
    parser.add_argument("--essays", type=int, default=150)
    args = parser.parse_args()
    if not available():
        parser.error("pocketsphinx's English language model is not installed")
    with args.data.open(newline="", encoding="utf-8") as handle:
        essays = [row["full_text"] for row in csv.DictReader(handle)]
    random.Random(1).shuffle(essays)
    odds: dict[str, list[float]] = {".": [], ",": [], "": []}
    gaps = 0
    for text in essays[: args.essays]:
        for before, after, mark in labelled_gaps(text):
            gaps += 1
            value = sentence_break_odds(before, after)
            if value is not None:
                odds[mark].append(value)
    ends, commas, unmarked = odds["."], odds[","], odds[""]
    print(f"{min(args.essays, len(essays))} essays, {gaps} gaps between words")
    print(
        f"scored: {len(ends)} sentence ends, {len(commas)} commas, {len(unmarked)} unmarked "
        "(the rest have a word the model does not know either side)"
    )
    print(f"AUC sentence ends vs unmarked {_auc(ends, unmarked):.3f}")
    print(f"AUC commas vs unmarked        {_auc(commas, unmarked):.3f}")
    print(f"{'threshold':>9} {'ends':>6} {'commas':>7} {'unmarked':>9}   (share called a boundary)")
    for threshold in sorted({*THRESHOLDS, SENTENCE_BREAK_ODDS}):
        shares = [sum(v >= threshold for v in values) / len(values) for values in odds.values()]
        mark = "  <- the product's" if threshold == SENTENCE_BREAK_ODDS else ""
        print(f"{threshold:9.1f} {shares[0]:6.0%} {shares[1]:7.0%} {shares[2]:9.0%}{mark}")


if __name__ == "__main__":
    main()
