"""Text sub-scores against human scores on ELLIPSE (never asserted in tests).

    .venv/bin/python -m bench.ellipse_eval --data ../shared/data/ellipse-dev/ellipse_dev.csv [--fit]

The essays are sorted by their id and shuffled with a fixed seed; the first 60 % are the
training part, the rest the held-out part. ``--fit`` fits one ridge model per criterion on the
training part only (alpha by 5-fold cross-validation inside it) and writes
``shared/assessment/calibration/text_v1.json`` (each model with its ``spread``: the
human scores' standard deviation over its predictions' on the training part, which
stretches predictions about the mean without changing r); without it the shipped file is
evaluated.
Either way the command prints, on the held-out part, Pearson r before any rounding:

- lexical resource vs Vocabulary, grammar vs Grammar (and vs Syntax), coherence vs Cohesion;
- the same with the text made speech-like (punctuation and capitals removed, so no sentence
  features) scored as speech (models with writing-only features skipped), to show what
  transfers to transcripts;
- single-feature baselines (MATTR, log length, mean word length ...);
- the spread of the scores on the held-out part: the human scores' standard deviation
  against the ridge predictions' and the stretched ones', with the mean absolute error of
  each, in ELLIPSE points and as IELTS bands through the file's mapping.

The data stays outside the repository (CC BY-NC-SA); only fitted numbers are written.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import itertools
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shared.assessment import coherence, complexity, lexis, naturalness
from shared.assessment.text_scoring import (
    CALIBRATION_FILE,
    GRAMMAR_ISSUE_FEATURE,
    Calibration,
    LinearModel,
    analyze_text,
    fit_linear_model,
    grammar_checker_version,
    load_calibration,
    model_to_json,
    parse_calibration,
    pearson,
)
from shared.models.assessment import AnswerText, Criterion

VERSION = "text_v1.1"  # text_v1 plus each model's spread
SEED = 20241
TRAIN_FRACTION = 0.6
CV_SEED = 7

# Criterion model -> (ELLIPSE column, features). Each model reads its own analyzer's
# measures plus the few general ones (length, range, accuracy signals) that raters of every
# criterion respond to.
GENERAL = ("log_words", "log_types", "mattr", "accuracy_signal_rate")
FEATURE_SETS: dict[Criterion, tuple[str, tuple[str, ...]]] = {
    "lexical_resource": (
        "Vocabulary",
        (
            *GENERAL,
            "mean_word_length",
            "zipf_lt3",
            "zipf_3_4",
            "zipf_4_5",
            "content_zipf",
            "less_common_content",
            "lexical_density",
            "idiomatic_rate",
            "slip_rate",
            "vague_rate",
            "repeat_share",
            "bigram_novelty",
        ),
    ),
    "grammar": (
        "Grammar",
        (
            *GENERAL,
            "subordinate_rate",
            "relative_rate",
            "complement_rate",
            "structure_range",
            "structure_rate",
            "modal_range",
            "clauses_per_sentence",
            "complex_sentence_share",
            "mean_sentence_length",
            "long_sentence_share",
        ),
    ),
    "fluency_coherence": (
        "Cohesion",
        (
            *GENERAL,
            "marker_rate",
            "advanced_marker_rate",
            "marker_range",
            "function_range",
            "basic_share",
            "top_marker_share",
            "and_rate",
            "reference_rate",
            "vague_rate",
            "mean_word_length",
            "zipf_4_5",
            "signposting",
            "new_content_share",
            "opener_variety",
            "initial_marker_share",
            "link_share",
            "overlap",
            "mean_sentence_length",
            "sentence_length_sd",
            "long_sentence_share",
        ),
    ),
}
# Optional components and the features they bring (see text_scoring.OPTIONAL_FEATURES): a
# model is fitted with every combination available, richest first, so that scoring falls
# back gracefully. The grammar checker's rate feeds the grammar model only.
# "conventions" are writing-only (spelling, capitals): a model with them scores essays only,
# its variant without them scores speech. They help the Cohesion model, whose human scores
# lean on them; lexis and grammar reach their targets without.
OPTIONAL_GROUPS: dict[str, tuple[str, ...]] = {
    "conventions": ("unknown_share", "lowercase_i_rate", "capitalised_share"),
    "lm": ("lm_naturalness", "lm_odd_share"),
    "checker": (GRAMMAR_ISSUE_FEATURE,),
}
GROUPS_FOR: dict[Criterion, tuple[str, ...]] = {
    "lexical_resource": ("lm",),
    "grammar": ("lm", "checker"),
    "fluency_coherence": ("conventions", "lm"),
}
WRITING_ONLY = frozenset(OPTIONAL_GROUPS["conventions"])
BASELINES = ("mattr", "log_words", "mean_word_length", "accuracy_signal_rate", "marker_range")
TARGETS: dict[Criterion, tuple[str, ...]] = {
    "lexical_resource": ("Vocabulary",),
    "grammar": ("Grammar", "Syntax"),
    "fluency_coherence": ("Cohesion",),
}
ANCHORS = ((1.0, 3.0), (2.0, 4.25), (3.0, 5.5), (4.0, 6.75), (5.0, 8.0))


def load_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return sorted(rows, key=lambda row: row["text_id_kaggle"])


def split(count: int) -> tuple[list[int], list[int]]:
    order = np.random.default_rng(SEED).permutation(count)
    cut = round(TRAIN_FRACTION * count)
    return sorted(order[:cut].tolist()), sorted(order[cut:].tolist())


def speech_like(text: str) -> str:
    """What a recogniser without punctuation would write: no end marks, commas or capitals."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'’-]", " ", text)).strip().lower()


def features(texts: Sequence[str]) -> list[dict[str, float]]:
    return [
        analyze_text([AnswerText(turn_id="essay", part=3, text=text)]).features for text in texts
    ]


def predict(model: LinearModel, rows: Sequence[Mapping[str, float]]) -> list[float]:
    return [model.predict(row) for row in rows]


def usable(feature: str, rows: Sequence[Mapping[str, float]]) -> bool:
    """Present in every training row and not constant (a stub checker finds nothing)."""
    values = [row[feature] for row in rows if feature in row]
    return len(values) == len(rows) and float(np.std(values)) > 0


def plans(
    train_rows: Sequence[Mapping[str, float]],
) -> list[tuple[str, Criterion, str, tuple[str, ...]]]:
    """(model name, criterion, target, features), richest variant of each criterion first."""
    found = []
    for criterion, (target, names) in FEATURE_SETS.items():
        groups = [
            group
            for group in GROUPS_FOR[criterion]
            if all(usable(feature, train_rows) for feature in OPTIONAL_GROUPS[group])
        ]
        variants = [
            combo
            for size in range(len(groups), -1, -1)
            for combo in itertools.combinations(groups, size)
        ]
        for combo in variants:
            extra = tuple(f for group in combo for f in OPTIONAL_GROUPS[group])
            name = (
                criterion
                if len(combo) == len(groups)
                else f"{criterion}.without_" + "_".join(g for g in groups if g not in combo)
            )
            found.append((name, criterion, target, names + extra))
    return found


def fit(
    train_rows: Sequence[Mapping[str, float]],
    train_scores: Sequence[Mapping[str, str]],
    test_rows: Sequence[Mapping[str, float]],
    test_scores: Sequence[Mapping[str, str]],
    speech_rows: Sequence[Mapping[str, float]],
    data_path: Path,
) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for name, criterion, target, names in plans(train_rows):
        y = [float(row[target]) for row in train_scores]
        result = fit_linear_model(
            name, criterion, target, train_rows, y, names, writing_only=WRITING_ONLY, seed=CV_SEED
        )
        held_out = pearson(
            predict(result.model, test_rows), [float(r[target]) for r in test_scores]
        )
        models[name] = {
            **model_to_json(result.model),
            "alpha": result.alpha,
            "cv_r_train": round(result.cv_r, 4),
            "heldout_r": round(held_out, 4),
        }
    return {
        "version": VERSION,
        "fitted": datetime.date.today().isoformat(),
        "note": "Ridge models predicting ELLIPSE analytic scores (1-5) from the lexis, "
        "complexity and coherence metrics; see shared/assessment/text_scoring.py. Each "
        "model's spread (training part: standard deviation of the human score over that of "
        "the ridge predictions) stretches its predictions about the intercept, the training "
        "mean, so that they spread as human scores do; r is unchanged. Refit with "
        "`python -m bench.ellipse_eval --data <ellipse_dev.csv> --fit`.",
        "data": {
            "corpus": "ELLIPSE (Crossley et al. 2023), 1,000-essay dev subset "
            f"({data_path.name}); never copied into the repository",
            "split": {
                "method": "rows sorted by text_id_kaggle, numpy default_rng(seed).permutation, "
                "first train_fraction are the training part, the rest held out",
                "seed": SEED,
                "train_fraction": TRAIN_FRACTION,
                "n_train": len(train_rows),
                "n_heldout": len(test_rows),
                "cv": {"folds": 5, "seed": CV_SEED, "chooses": "ridge alpha (least MSE)"},
            },
        },
        "feature_versions": {
            "lexis": f"{lexis.VERSION}+data.{lexis.lexis_data().version}",
            "complexity": f"{complexity.VERSION}+data.{complexity.complexity_data().version}",
            "coherence": f"{coherence.VERSION}+data.{coherence.coherence_data().version}",
            "grammar_errors": grammar_checker_version()
            if usable(GRAMMAR_ISSUE_FEATURE, train_rows)
            else None,
            "naturalness": naturalness.model_version(),
        },
        "features": {
            "writing_only": sorted(WRITING_ONLY),
            "need_punctuation": sorted(
                {f for _, _, _, names in plans(train_rows) for f in names}
                - {f for row in speech_rows for f in row}
            ),
            "note": "A writing-only feature is never used for speech: models with one are "
            "skipped for spoken answers. A feature that needs punctuation is missing from an "
            "unpunctuated transcript and then counts as its training mean. Every other "
            "feature is measured the same way on transcripts.",
        },
        "mapping": {
            "from": "ELLIPSE analytic score 1.0-5.0",
            "to": "IELTS band 0-9 (continuous, before rounding)",
            "anchors": [list(point) for point in ANCHORS],
            "rationale": "No published concordance exists; the anchors read ELLIPSE's rubric "
            "against our paraphrase of the IELTS descriptors: 1 (very limited, frequent "
            "errors that block meaning) ~ band 3, 3 (adequate but limited, frequent errors) ~ "
            "band 5.5, 5 (wide, precise, rare errors) ~ band 8. Linear between anchors and "
            "beyond them, clipped to 0-9. Treat bands as estimates until checked against "
            "IELTS-rated answers.",
        },
        "models": models,
    }


def report(
    calibration: Calibration,
    test_rows: Sequence[Mapping[str, float]],
    speech_rows: Sequence[Mapping[str, float]],
    test_scores: Sequence[Mapping[str, str]],
) -> None:
    print(f"\nHeld-out Pearson r ({len(test_rows)} essays), calibration {calibration.version}")
    print(f"{'model':40} {'vs':11} {'essay':>7} {'speech-like':>12}")
    for name, model in calibration.models.items():
        for target in TARGETS[model.criterion]:
            y = [float(r[target]) for r in test_scores]
            essay = pearson(predict(model, test_rows), y)
            speech = (
                "essays only"
                if model.writing_only
                else (f"{pearson(predict(model, speech_rows), y):.3f}")
            )
            print(f"{name:40} {target:11} {essay:7.3f} {speech:>12}")
    print("\nAs scored (the model each input selects, every optional component present):")
    for criterion, targets in TARGETS.items():
        target = targets[0]
        y = [float(r[target]) for r in test_scores]
        chosen = [calibration.model_for(criterion, row, "writing") for row in test_rows]
        essay_r = pearson([m.predict(row) for m, row in zip(chosen, test_rows, strict=True)], y)
        spoken = [calibration.model_for(criterion, row, "speech") for row in speech_rows]
        speech_r = pearson([m.predict(row) for m, row in zip(spoken, speech_rows, strict=True)], y)
        print(f"  {criterion:20} vs {target:11} essays {essay_r:.3f} ({chosen[0].name}); "
              f"speech-like {speech_r:.3f} ({spoken[0].name})")  # fmt: skip
    print("\nSpread on the held-out part, as scored for essays (ELLIPSE points; MAE also in bands)")
    print(f"{'criterion':20} {'vs':11} {'human sd':>8} {'ridge sd':>8} {'stretched sd':>12} "
          f"{'ridge MAE':>9} {'stretched MAE':>13} {'bands':>11}")  # fmt: skip
    for criterion, targets in TARGETS.items():
        target = targets[0]
        human = np.array([float(r[target]) for r in test_scores])
        chosen = [calibration.model_for(criterion, row, "writing") for row in test_rows]
        raw = np.array([m.raw_predict(row) for m, row in zip(chosen, test_rows, strict=True)])
        stretched = np.array([m.predict(row) for m, row in zip(chosen, test_rows, strict=True)])
        human_bands = np.array([calibration.to_band(v) for v in human])
        raw_bands = np.array([calibration.to_band(v) for v in raw])
        stretched_bands = np.array([calibration.to_band(v) for v in stretched])
        print(f"{criterion:20} {target:11} {human.std():8.3f} {raw.std():8.3f} "
              f"{stretched.std():12.3f} "
              f"{np.abs(raw - human).mean():9.3f} {np.abs(stretched - human).mean():13.3f} "
              f"{np.abs(raw_bands - human_bands).mean():5.2f}/"
              f"{np.abs(stretched_bands - human_bands).mean():4.2f}")  # fmt: skip
    print("\nSingle-feature baselines on the held-out part (Pearson r, sign kept)")
    columns = ("Vocabulary", "Grammar", "Syntax", "Cohesion")
    print(f"{'feature':24} " + " ".join(f"{t:>10}" for t in columns))
    optional = [f for group in OPTIONAL_GROUPS.values() for f in group]
    for feature in [*BASELINES, *(f for f in optional if usable(f, test_rows))]:
        x = [row.get(feature, float("nan")) for row in test_rows]
        cells = [pearson(x, [float(r[t]) for r in test_scores]) for t in columns]
        print(f"{feature:24} " + " ".join(f"{c:10.3f}" for c in cells))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="ellipse_dev.csv")
    parser.add_argument("--fit", action="store_true", help="fit and write the calibration file")
    parser.add_argument("--calibration", type=Path, default=CALIBRATION_FILE)
    parser.add_argument(
        "--features-cache",
        type=Path,
        help="reuse (or write) the computed features here, outside the repository, to iterate "
        "on the models without recomputing them; stale as soon as an analyzer changes",
    )
    args = parser.parse_args(argv)

    rows = load_rows(args.data)
    train, test = split(len(rows))
    started = time.perf_counter()
    if args.features_cache and args.features_cache.is_file():
        cached = json.loads(args.features_cache.read_text(encoding="utf-8"))
        all_features, speech_features = cached["essay"], cached["speech"]
    else:
        all_features = features([row["full_text"] for row in rows])
        speech_features = features([speech_like(rows[i]["full_text"]) for i in test])
        if args.features_cache:
            args.features_cache.write_text(
                json.dumps({"essay": all_features, "speech": speech_features}), encoding="utf-8"
            )
    elapsed = time.perf_counter() - started
    print(f"{len(rows)} essays ({len(train)} training, {len(test)} held out); "
          f"features in {elapsed:.1f} s ({1000 * elapsed / (len(rows) + len(test)):.1f} ms each); "
          f"grammar checker: {grammar_checker_version() or 'absent'}; "
          f"language model: {naturalness.model_version() or 'absent'}")  # fmt: skip
    train_rows = [all_features[i] for i in train]
    test_rows = [all_features[i] for i in test]
    train_scores = [rows[i] for i in train]
    test_scores = [rows[i] for i in test]

    if args.fit:
        raw = fit(train_rows, train_scores, test_rows, test_scores, speech_features, args.data)
        args.calibration.parent.mkdir(parents=True, exist_ok=True)
        args.calibration.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.calibration}")
        for name, model in raw["models"].items():
            print(f"  {name:26} alpha {model['alpha']:<6} cv r {model['cv_r_train']:.3f} "
                  f"spread {model['spread']:.3f}")  # fmt: skip
        calibration = parse_calibration(raw)
    else:
        calibration = load_calibration(args.calibration)
    report(calibration, test_rows, speech_features, test_scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
