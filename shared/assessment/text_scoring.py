"""Calibrated text sub-scores (0-9) for lexical resource, grammar and the text side of coherence.

The lexis, complexity and coherence analyzers measure; this module turns their metrics into a
band-like sub-score with one small linear (ridge) model per criterion. The models are fitted
on human scores (ELLIPSE learner essays, see ``bench/ellipse_eval.py``) and ship as a
versioned file, ``calibration/text_v1.json``: the feature names, how each is transformed,
the training means and scales, the clipping range, the weights and intercept, the data split
and the held-out Pearson r. Nothing is fitted at run time, and the data never enters the
repository: only these numbers do.

Scoring one learner:

1. Run the three analyzers, plus two optional components: the language-model naturalness
   (``naturalness``, needs pocketsphinx) and the rule-based grammar checker (its issues per
   100 words). A criterion may have several models in the file, in order of preference; the
   first whose optional features are all present is used, so scoring works without either.
2. Per model: transform (``log1p`` for skewed rates), clip to the range seen in training (a
   whole speaking test is longer than any essay; extrapolating a length effect would be
   invented), standardise; a missing feature (an unpunctuated transcript has no sentence
   lengths) counts as the training mean, i.e. contributes nothing.
3. Models that use a ``writing_only`` feature (spelling, capitals: what a transcript does not
   have, or has only as the recogniser wrote it) are skipped for spoken answers; the
   criterion's next model, fitted without them, scores speech.
4. The prediction is on ELLIPSE's 1-5 scale. A ridge model's predictions spread less than
   the human scores they predict (they shrink towards the mean, the more so the weaker the
   fit), so a plain prediction would put nearly every learner within half a band of the
   average. Each model therefore carries a ``spread``: the ratio of the human scores'
   standard deviation to its predictions' on the training part (linear equating of the two
   distributions). The prediction's distance from the training mean is multiplied by it;
   being a positive linear map, it leaves Pearson r unchanged.
5. The piecewise-linear ``mapping`` in the file turns the ELLIPSE-scale value into an
   IELTS-like 0-9 value (not rounded: ``bands.criterion_band`` rounds).

Below ``MIN_WORDS`` words the sub-score is None with a reason: too little text to judge.
"""

from __future__ import annotations

import functools
import importlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal

from shared.assessment.coherence import analyze_coherence
from shared.assessment.complexity import analyze_complexity
from shared.assessment.lexis import analyze_lexis
from shared.assessment.naturalness import naturalness
from shared.assessment.text import passages
from shared.models.assessment import AnalyzerResult, AnswerText, Criterion

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CALIBRATION_FILE: Final = Path(__file__).parent / "calibration" / "text_v1.json"
MIN_WORDS: Final = 50  # one MATTR window; fewer words say too little about range
GRAMMAR_CHECKER_MODULE: Final = "shared.assessment.grammar_errors"
GRAMMAR_ISSUE_FEATURE: Final = "grammar_issue_rate"
# Features from optional components (the grammar checker, the pocketsphinx language model):
# a model that uses one "requires" it, and a criterion falls back to its next model in the
# file when a required feature is missing.
OPTIONAL_FEATURES: Final = frozenset({GRAMMAR_ISSUE_FEATURE, "lm_naturalness", "lm_odd_share"})

TEXT_CRITERIA: Final[tuple[Criterion, ...]] = ("lexical_resource", "grammar", "fluency_coherence")
Modality = Literal["speech", "writing"]
Transform = Literal["identity", "log1p"]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    transform: Transform
    mean: float  # of the transformed, clipped value on the training part
    scale: float
    lower: float  # clip range of the transformed value (training 1st-99th percentile)
    upper: float
    weight: float
    writing_only: bool = False

    def contribution(self, value: float | None) -> float:
        if value is None or math.isnan(value):
            return 0.0
        x = math.log1p(max(value, 0.0)) if self.transform == "log1p" else value
        x = min(max(x, self.lower), self.upper)
        return self.weight * (x - self.mean) / self.scale


@dataclass(frozen=True)
class LinearModel:
    """A ridge model on standardised features, predicting the ELLIPSE 1-5 score.

    ``intercept`` is the training mean of the human score; ``spread`` (>= 1 for a ridge
    model) stretches predictions about it to the human scores' spread (see the module doc).
    """

    name: str
    criterion: Criterion
    target: str
    features: tuple[FeatureSpec, ...]
    intercept: float
    spread: float = 1.0

    @property
    def requires(self) -> frozenset[str]:
        return frozenset(s.name for s in self.features if s.name in OPTIONAL_FEATURES)

    @property
    def writing_only(self) -> bool:
        return any(spec.writing_only for spec in self.features)

    def raw_predict(self, values: Mapping[str, float]) -> float:
        """The ridge prediction itself, before the spread is restored."""
        return self.intercept + sum(s.contribution(values.get(s.name)) for s in self.features)

    def predict(self, values: Mapping[str, float]) -> float:
        return self.intercept + self.spread * (self.raw_predict(values) - self.intercept)


@dataclass(frozen=True)
class Calibration:
    version: str
    models: dict[str, LinearModel]  # in preference order within each criterion
    anchors: tuple[tuple[float, float], ...]  # (ELLIPSE score, IELTS band), increasing

    def model_for(
        self, criterion: Criterion, features: Mapping[str, float], modality: Modality
    ) -> LinearModel:
        """The criterion's first model whose optional features are all present and, for
        speech, that uses no writing-only feature."""
        for model in self.models.values():
            if model.criterion != criterion or not model.requires <= features.keys():
                continue
            if modality == "speech" and model.writing_only:
                continue
            return model
        raise KeyError(f"no usable model for {criterion} in calibration {self.version}")

    def to_band(self, ellipse_score: float) -> float:
        """ELLIPSE 1-5 -> IELTS 0-9 along the anchors, extended linearly at both ends."""
        points = self.anchors
        if ellipse_score <= points[0][0]:
            (x0, y0), (x1, y1) = points[0], points[1]
        elif ellipse_score >= points[-1][0]:
            (x0, y0), (x1, y1) = points[-2], points[-1]
        else:
            index = next(i for i, (x, _) in enumerate(points) if x >= ellipse_score)
            (x0, y0), (x1, y1) = points[index - 1], points[index]
        band = y0 + (ellipse_score - x0) * (y1 - y0) / (x1 - x0)
        return min(9.0, max(0.0, band))


def parse_calibration(raw: Mapping[str, Any]) -> Calibration:
    models = {}
    for name, model in raw["models"].items():
        specs = tuple(
            FeatureSpec(
                name=feature["name"],
                transform=feature["transform"],
                mean=float(feature["mean"]),
                scale=float(feature["scale"]),
                lower=float(feature["lower"]),
                upper=float(feature["upper"]),
                weight=float(feature["weight"]),
                writing_only=bool(feature.get("writing_only", False)),
            )
            for feature in model["features"]
        )
        criterion = model["criterion"]
        if criterion not in TEXT_CRITERIA:
            raise ValueError(f"model {name!r}: unknown criterion {criterion!r}")
        spread = float(model.get("spread", 1.0))
        if not spread > 0:
            raise ValueError(f"model {name!r}: spread must be positive, not {spread}")
        models[name] = LinearModel(
            name, criterion, str(model["target"]), specs, float(model["intercept"]), spread
        )
    anchors = tuple((float(x), float(y)) for x, y in raw["mapping"]["anchors"])
    return Calibration(str(raw["version"]), models, anchors)


@functools.cache
def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    return parse_calibration(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def _grammar_checker() -> ModuleType | None:
    # Imported lazily and optionally: the checker is developed apart, and scoring must work
    # (with the fallback grammar model) when it is absent.
    try:
        return importlib.import_module(GRAMMAR_CHECKER_MODULE)
    except ModuleNotFoundError:
        return None


def grammar_checker_version() -> str | None:
    """The checker's rule-book version and parser status: its issue rate depends on both."""
    module = _grammar_checker()
    if module is None:
        return None
    rules = getattr(module, "rule_book_version", None)
    parser = getattr(module, "parser_status", None)
    return (
        f"rules {rules() if callable(rules) else 'unversioned'}, "
        f"parser {parser() if callable(parser) else 'unknown'}"
    )


def grammar_issue_rate(answers: Sequence[AnswerText], words: int) -> float | None:
    """Issues the rule-based checker finds per 100 words, or None without the checker."""
    module = _grammar_checker()
    if module is None or words == 0:
        return None
    # No first language: the calibration was fitted without one, and a first language switches
    # on extra rules, which would change the rate the weights were fitted on.
    issues = sum(len(module.find_grammar_issues(answer.text)) for answer in answers)
    return 100.0 * issues / words


def conventions(answers: Sequence[AnswerText]) -> dict[str, float]:
    """Writing conventions, only for calibrating on essays: ``lowercase_i_rate`` ("i" written
    as a pronoun, per 100 words) and ``capitalised_share`` (sentences that open with a capital
    letter). ELLIPSE raters' Cohesion scores respond to them; a transcript's capitals and
    sentence breaks are the recogniser's, so they are marked ``writing_only`` and a model that
    uses them never scores speech."""
    parts = passages(answers)
    words = [token for part in parts for token in part.tokens]
    punctuated = [(part, s) for part in parts if part.punctuated for s in part.sentences]
    found: dict[str, float] = {}
    if words:
        found["lowercase_i_rate"] = 100.0 * sum(1 for t in words if t.text == "i") / len(words)
    if punctuated:
        found["capitalised_share"] = sum(
            1 for _, sentence in punctuated if sentence.tokens[0].text[:1].isupper()
        ) / len(punctuated)
    return found


@dataclass(frozen=True)
class TextAnalysis:
    lexis: AnalyzerResult
    complexity: AnalyzerResult
    coherence: AnalyzerResult
    features: dict[str, float]

    @property
    def words(self) -> int:
        return int(self.lexis.metrics.get("words", 0))


def analyze_text(answers: Sequence[AnswerText]) -> TextAnalysis:
    """The three analyzers' results and the union of their metrics (the model features)."""
    lexis = analyze_lexis(answers)
    complexity = analyze_complexity(answers)
    coherence = analyze_coherence(answers)
    # Word-sequence naturalness is about phrasing, so it is reported with lexis.
    natural = naturalness(passages(answers))
    if natural and lexis.not_scored_reason is None:
        lexis = lexis.model_copy(update={"metrics": {**lexis.metrics, **natural}})
    features = {
        **lexis.metrics,
        **complexity.metrics,
        **coherence.metrics,
        **natural,
        **conventions(answers),
    }
    rate = grammar_issue_rate(answers, int(lexis.metrics.get("words", 0)))
    if rate is not None:
        features[GRAMMAR_ISSUE_FEATURE] = rate
        if complexity.not_scored_reason is None:
            metrics = {**complexity.metrics, GRAMMAR_ISSUE_FEATURE: rate}
            complexity = complexity.model_copy(update={"metrics": metrics})
    return TextAnalysis(lexis, complexity, coherence, features)


def _spoken(answers: Sequence[AnswerText]) -> bool:
    return any(answer.words or answer.duration_seconds > 0 for answer in answers)


def score_text(
    answers: Sequence[AnswerText],
    *,
    modality: Modality | None = None,
    calibration: Calibration | None = None,
) -> tuple[AnalyzerResult, AnalyzerResult, AnalyzerResult]:
    """Lexis, complexity (grammar) and coherence results, each with its calibrated sub-score.

    ``modality`` defaults to "speech" when any answer carries timed words or a duration.
    """
    calibration = calibration or load_calibration()
    modality = modality or ("speech" if _spoken(answers) else "writing")
    analysis = analyze_text(answers)
    scored: list[AnalyzerResult] = []
    for result in (analysis.lexis, analysis.complexity, analysis.coherence):
        if result.not_scored_reason is not None:
            scored.append(result)
            continue
        if analysis.words < MIN_WORDS:
            scored.append(
                result.model_copy(
                    update={
                        "not_scored_reason": f"too few words to judge from text "
                        f"({analysis.words}; at least {MIN_WORDS})"
                    }
                )
            )
            continue
        model = calibration.model_for(result.criterion, analysis.features, modality)
        ellipse = model.predict(analysis.features)
        band = calibration.to_band(ellipse)
        version = f"{result.version}+calibration.{calibration.version}.{model.name}"
        scored.append(result.model_copy(update={"sub_score": round(band, 3), "version": version}))
    return scored[0], scored[1], scored[2]


# Fitting (bench/ellipse_eval.py). numpy is imported inside these functions: scoring above is
# plain arithmetic and never loads it.


def fit_ridge(
    x: NDArray[np.float64], y: NDArray[np.float64], alpha: float
) -> tuple[NDArray[np.float64], float]:
    """Ridge on already standardised columns: (weights, intercept); the intercept is not
    penalised (y is centred first)."""
    import numpy as np

    centre = float(y.mean())
    gram = x.T @ x + alpha * np.eye(x.shape[1])
    weights: NDArray[np.float64] = np.linalg.solve(gram, x.T @ (y - centre)).astype(np.float64)
    return weights, centre


def pearson(
    a: Sequence[float] | NDArray[np.float64], b: Sequence[float] | NDArray[np.float64]
) -> float:
    import numpy as np

    return float(np.corrcoef(np.asarray(a, dtype=float), np.asarray(b, dtype=float))[0, 1])


ALPHAS: Final = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
SKEW_FOR_LOG: Final = 1.0  # a non-negative feature this skewed is fitted on log1p


@dataclass(frozen=True)
class Fit:
    model: LinearModel
    alpha: float
    cv_r: float  # mean Pearson r over the cross-validation folds of the training part


def _skew(values: NDArray[np.float64]) -> float:
    import numpy as np

    centred = values - values.mean()
    spread = float(np.sqrt((centred**2).mean()))
    return float((centred**3).mean()) / spread**3 if spread > 0 else 0.0


def fit_linear_model(
    name: str,
    criterion: Criterion,
    target: str,
    rows: Sequence[Mapping[str, float]],
    y: Sequence[float],
    features: Sequence[str],
    *,
    writing_only: frozenset[str] = frozenset(),
    folds: int = 5,
    seed: int = 0,
) -> Fit:
    """Fit one criterion's model on the training rows only; alpha by k-fold cross-validation."""
    import numpy as np

    target_values = np.asarray(y, dtype=float)
    specs: list[FeatureSpec] = []
    columns = []
    for feature in features:
        raw = np.array([row.get(feature, np.nan) for row in rows], dtype=float)
        present = raw[~np.isnan(raw)]
        if present.size == 0:
            raise ValueError(f"feature {feature!r} is missing from every training row")
        transform: Transform = (
            "log1p" if present.min() >= 0 and _skew(present) > SKEW_FOR_LOG else "identity"
        )
        values = np.log1p(raw) if transform == "log1p" else raw
        lower, upper = np.nanpercentile(values, [1, 99])
        values = np.clip(values, lower, upper)
        mean = float(np.nanmean(values))
        values = np.where(np.isnan(values), mean, values)
        scale = float(values.std()) or 1.0
        columns.append((values - mean) / scale)
        specs.append(
            FeatureSpec(
                feature, transform, mean, scale, float(lower), float(upper), 0.0,
                writing_only=feature in writing_only,
            )
        )  # fmt: skip
    x = np.column_stack(columns)

    order = np.random.default_rng(seed).permutation(len(target_values))
    fold_of = np.empty(len(target_values), dtype=int)
    fold_of[order] = np.arange(len(target_values)) % folds
    best: tuple[float, float, float] | None = None  # (mse, alpha, r)
    for alpha in ALPHAS:
        errors, rs = [], []
        for fold in range(folds):
            train, test = fold_of != fold, fold_of == fold
            weights, intercept = fit_ridge(x[train], target_values[train], alpha)
            predicted = x[test] @ weights + intercept
            errors.append(float(((predicted - target_values[test]) ** 2).mean()))
            rs.append(pearson(predicted, target_values[test]))
        mse = float(np.mean(errors))
        if best is None or mse < best[0]:
            best = (mse, alpha, float(np.mean(rs)))
    assert best is not None
    _, alpha, cv_r = best
    weights, intercept = fit_ridge(x, target_values, alpha)
    fitted = tuple(
        FeatureSpec(
            s.name, s.transform, s.mean, s.scale, s.lower, s.upper, float(w), s.writing_only
        )
        for s, w in zip(specs, weights, strict=True)
    )
    # Linear equating on the training part: predictions stretched about the mean to the
    # human scores' standard deviation (the columns are centred, so the mean is the intercept).
    predicted_sd = float((x @ weights).std())
    spread = float(target_values.std()) / predicted_sd if predicted_sd > 0 else 1.0
    model = LinearModel(name, criterion, target, fitted, intercept, spread)
    return Fit(model, alpha, cv_r)


def model_to_json(model: LinearModel) -> dict[str, Any]:
    return {
        "criterion": model.criterion,
        "requires": sorted(model.requires),
        "target": model.target,
        "intercept": round(model.intercept, 6),
        "spread": round(model.spread, 6),
        "features": [
            {
                "name": s.name,
                "transform": s.transform,
                "mean": round(s.mean, 6),
                "scale": round(s.scale, 6),
                "lower": round(s.lower, 6),
                "upper": round(s.upper, 6),
                "weight": round(s.weight, 6),
                "writing_only": s.writing_only,
            }
            for s in model.features
        ],
    }
