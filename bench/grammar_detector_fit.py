"""Fit the tentative grammar detector's weights on half A of JFLEG dev, report on half B.

    .venv/bin/python -m bench.grammar_detector_fit [--jfleg DIR] [--target-precision 0.75]
        [--l2 1.0] [--write]

Half A is the first half of ``dev.ref.m2`` (``bench.grammar_eval --half tune``), half B the
second (``--half test``), never used here except to report. Each word the product's tokenizer
finds is labelled *edited* when any annotator's non-spelling edit covers one of its M2 tokens
(the gold of ``bench.grammar_eval``); words whose M2 tokens are all spelling-only are left out.

A logistic regression (numpy, Newton steps with an L2 penalty, standardised features) is
fitted on half A. The threshold is chosen on half A without looking at B: the lowest one
whose precision, measured the way ``bench.grammar_eval`` measures it (rule errors plus
detector words, M2 tokens) on two-fold out-of-fold scores within A, reaches
``--target-precision``. ``--write`` stores the weights, threshold and provenance in
``shared/assessment/calibration/grammar_detector_v1.json``: 36 numbers, no text from JFLEG.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from bench.grammar_eval import (
    DEFAULT_JFLEG,
    Dictionary,
    M2Sentence,
    detokenize,
    gold_tokens,
    read_m2,
)
from shared.assessment import grammar_detector, grammar_errors
from shared.assessment.grammar_detector import FEATURES, WEIGHTS_PATH, load_data


@dataclass
class Prepared:
    """One sentence's gold, the rules' reported tokens and the detector's rows."""

    edited: set[int]
    excluded: set[int]
    tokens: int
    rule_flagged: set[int]
    rows: np.ndarray
    covers: list[set[int]]  # M2 tokens each row's word covers (spelling-only ones removed)


def prepare(sentence: M2Sentence, dictionary: Dictionary) -> Prepared:
    text, spans = detokenize(sentence.tokens)
    edited, excluded = gold_tokens(sentence, dictionary, False)
    candidates = grammar_errors.find_grammar_issues(text, min_confidence=0.0, use_parser=False)
    reported = grammar_errors.find_grammar_issues(text, use_parser=False)
    rule_flagged = {
        i
        for issue in reported
        for i, (start, end) in enumerate(spans)
        if start < issue.end and issue.start < end
    } - excluded
    words, rows = grammar_detector.word_features(text, candidates)
    covers = [
        {i for i, (start, end) in enumerate(spans) if start < w.end and w.start < end} - excluded
        for w in words
    ]
    return Prepared(edited, excluded, len(sentence.tokens), rule_flagged, rows, covers)


def labelled(prepared: list[Prepared]) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    rows, labels, where = [], [], []
    for s, item in enumerate(prepared):
        for w, cover in enumerate(item.covers):
            if cover:
                rows.append(item.rows[w])
                labels.append(float(bool(cover & item.edited)))
                where.append((s, w))
    return np.array(rows), np.array(labels), where


def fit(rows: np.ndarray, labels: np.ndarray, l2: float) -> tuple[np.ndarray, ...]:
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(rows - mean) / scale, np.ones((len(rows), 1))])
    w = np.zeros(z.shape[1])
    penalty = l2 * np.eye(z.shape[1])
    penalty[-1, -1] = 0.0  # no penalty on the bias
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - labels) + penalty @ w
        hessian = (z.T * (p * (1 - p))) @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[:-1], np.array([w[-1]])


def probabilities(rows: np.ndarray, model: tuple[np.ndarray, ...]) -> np.ndarray:
    mean, scale, weights, bias = model
    return 1.0 / (1.0 + np.exp(-(((rows - mean) / scale) @ weights + bias[0])))


def measure(
    prepared: list[Prepared], scores: list[np.ndarray] | None, threshold: float
) -> tuple[float, float, int, int, int]:
    """(precision, recall, tp, fp, fn) over M2 tokens, as bench.grammar_eval counts them."""
    tp = fp = fn = 0
    for s, item in enumerate(prepared):
        flagged = set(item.rule_flagged)
        if scores is not None:
            for w, probability in enumerate(scores[s]):
                if probability >= threshold:
                    flagged |= item.covers[w]
        tp += len(flagged & item.edited)
        fp += len(flagged - item.edited)
        fn += len(item.edited - flagged)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, tp, fp, fn


def f05(precision: float, recall: float) -> float:
    return 1.25 * precision * recall / (0.25 * precision + recall) if precision and recall else 0.0


def per_sentence(prepared: list[Prepared], model: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    return [probabilities(item.rows, model) if len(item.rows) else np.zeros(0) for item in prepared]


def choose_threshold(prepared: list[Prepared], l2: float, target: float) -> float:
    """The lowest threshold reaching ``target`` precision on two-fold out-of-fold scores."""
    folds = [prepared[0::2], prepared[1::2]]
    scores: dict[int, np.ndarray] = {}
    for k in (0, 1):
        rows, labels, _ = labelled(folds[1 - k])
        model = fit(rows, labels, l2)
        for j, item in enumerate(folds[k]):
            scores[2 * j + k] = probabilities(item.rows, model) if len(item.rows) else np.zeros(0)
    ordered = [scores[i] for i in range(len(prepared))]
    for threshold in np.arange(0.30, 0.99, 0.01):
        precision, *_ = measure(prepared, ordered, float(threshold))
        if precision >= target:
            return round(float(threshold), 2)
    return 0.99


def report(label: str, prepared: list[Prepared], scores: list[np.ndarray] | None, t: float) -> None:
    precision, recall, tp, fp, fn = measure(prepared, scores, t)
    print(
        f"  {label:34} precision {precision:.3f}  recall {recall:.3f}  "
        f"F0.5 {f05(precision, recall):.3f}  (tp {tp} fp {fp} fn {fn})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jfleg", type=Path, default=DEFAULT_JFLEG)
    parser.add_argument("--target-precision", type=float, default=0.75)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_PATH.name}")
    args = parser.parse_args()

    sentences = read_m2(args.jfleg / "dev.ref.m2")
    middle = len(sentences) // 2
    dictionary = Dictionary()
    started = time.perf_counter()
    half_a = [prepare(sentence, dictionary) for sentence in sentences[:middle]]
    half_b = [prepare(sentence, dictionary) for sentence in sentences[middle:]]
    seconds = time.perf_counter() - started
    rows, labels, _ = labelled(half_a)
    model = fit(rows, labels, args.l2)
    threshold = choose_threshold(half_a, args.l2, args.target_precision)
    words = sum(len(item.rows) for item in half_a + half_b)
    print(
        f"JFLEG dev: half A {len(half_a)} sentences ({len(rows)} labelled words, "
        f"{labels.mean():.3f} edited), half B {len(half_b)} sentences"
    )
    print(
        f"rules and detector features: {1e6 * seconds / words:.0f} ms per 1,000 words "
        f"({seconds:.1f} s for {words} words, both halves)"
    )
    print(
        f"threshold {threshold:.2f}: the lowest reaching precision {args.target_precision} "
        "on two-fold out-of-fold scores within half A"
    )
    scores_a = per_sentence(half_a, model)
    scores_b = per_sentence(half_b, model)
    print("half A (fitting half, in-sample):")
    report("rules only", half_a, None, threshold)
    report("rules + detector", half_a, scores_a, threshold)
    print("half B (held out):")
    report("rules only", half_b, None, threshold)
    report("rules + detector", half_b, scores_b, threshold)
    print("half B, other thresholds (rules + detector):")
    for other in (threshold - 0.1, threshold - 0.05, threshold + 0.05, threshold + 0.1):
        report(f"threshold {other:.2f}", half_b, scores_b, other)
    print("weights (standardised features):")
    mean, scale, weights, bias = model
    for name, weight in sorted(zip(FEATURES, weights, strict=True), key=lambda x: -abs(x[1])):
        print(f"  {name:24} {weight:+.3f}")
    print(f"  {'bias':24} {bias[0]:+.3f}")
    if args.write:
        document = {
            "version": "grammar_detector_v1",
            "fitted": date.today().isoformat(),
            "data_version": load_data().version,
            "note": (
                "Logistic regression over the features of shared/assessment/grammar_detector.py"
                "; refit with `python -m bench.grammar_detector_fit --write`."
            ),
            "provenance": {
                "corpus": (
                    "JFLEG dev (Napoles et al. 2017, keisks/jfleg, CC BY-NC-SA 4.0): dev.ref.m2;"
                    " never copied into the repository, only these fitted numbers"
                ),
                "fitted_on": f"half A: the first {middle} sentences of dev.ref.m2",
                "held_out": f"half B: the other {len(sentences) - middle} sentences",
                "labels": (
                    "a word is edited when any annotator's non-spelling, non-punctuation edit "
                    "covers it (bench.grammar_eval's gold)"
                ),
                "threshold": (
                    f"lowest with precision >= {args.target_precision} (rules + detector) on "
                    "two-fold out-of-fold scores within half A"
                ),
                "l2": args.l2,
                "rules": grammar_errors.rule_book_version(),
                "language_model": grammar_detector.naturalness.model_version(),
            },
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(v), 6) for v in scale],
            "weights": [round(float(v), 6) for v in weights],
            "bias": round(float(bias[0]), 6),
            "threshold": threshold,
        }
        WEIGHTS_PATH.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH}")


if __name__ == "__main__":
    main()
