"""Calibrated text sub-scores: the shipped calibration file, model choice, the band mapping."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from shared.assessment import text_scoring
from shared.assessment.text_scoring import (
    CALIBRATION_FILE,
    MIN_WORDS,
    OPTIONAL_FEATURES,
    TEXT_CRITERIA,
    FeatureSpec,
    analyze_text,
    fit_linear_model,
    load_calibration,
    parse_calibration,
    score_text,
)
from shared.models.assessment import AnswerText, TimedWord

RICH = (
    "I'd like to describe a place that I visited last summer, which was a small fishing "
    "village on the coast. To be honest, I had never been anywhere so peaceful. The harbour "
    "was surrounded by colourful cottages, and every morning the fishermen would bring in "
    "their catch while tourists wandered along the pier. What struck me most was how the "
    "locals had preserved their traditions despite the growing number of visitors. If I had "
    "more time, I would definitely go back, because it gave me peace of mind and broadened my "
    "horizons. In other words, it was a place where I could recharge. Overall, I think it has "
    "been one of the most memorable trips I have ever taken."
)
POOR = (
    "I go to a place. The place is good. The place is very good and nice. I like the place "
    "because is good. The people is nice and the people is good. I go there with my friend and "
    "my friend like the place. We do a mistake and we go to home. It is good place. I like it "
    "very much. The place is good and nice and good. I go there again because is good and the "
    "people is very nice."
)


def answer(text: str, **extra: Any) -> AnswerText:
    return AnswerText(turn_id="t1", part=2, text=text, **extra)


def raw_calibration() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return loaded


def test_the_calibration_file_is_versioned_and_documents_its_fit() -> None:
    raw = raw_calibration()
    assert raw["version"] == "text_v1.1"
    split = raw["data"]["split"]
    assert split["seed"]
    assert 0 < split["train_fraction"] < 1
    assert split["n_train"] > split["n_heldout"] > 0
    assert {"lexis", "complexity", "coherence"} <= raw["feature_versions"].keys()
    assert raw["mapping"]["rationale"]
    for name, model in raw["models"].items():
        assert model["criterion"] in TEXT_CRITERIA, name
        assert model["target"] in {"Vocabulary", "Grammar", "Cohesion"}
        assert -1 <= model["heldout_r"] <= 1
        assert model["features"], name
        # Ridge predictions spread less than the human scores: the stretch widens them.
        assert 1.0 <= model["spread"] < 3.0, name
        for feature in model["features"]:
            assert feature["scale"] > 0
            assert feature["lower"] <= feature["upper"]


def test_the_primary_models_met_the_target_on_the_held_out_part() -> None:
    raw = raw_calibration()
    for criterion in TEXT_CRITERIA:
        assert raw["models"][criterion]["heldout_r"] >= 0.55, criterion


def test_every_model_feature_is_something_the_analyzers_measure() -> None:
    measured = set(analyze_text([answer(RICH)]).features)
    for model in load_calibration().models.values():
        for spec in model.features:
            assert spec.name in measured or spec.name in OPTIONAL_FEATURES, (model.name, spec)


def test_every_criterion_can_score_speech_without_optional_components() -> None:
    calibration = load_calibration()
    for criterion in TEXT_CRITERIA:
        model = calibration.model_for(criterion, {}, "speech")
        assert model.criterion == criterion
        assert not model.requires
        assert not model.writing_only


def test_a_missing_optional_feature_selects_the_fallback_model() -> None:
    calibration = load_calibration()
    features = analyze_text([answer(RICH)]).features
    stripped = {k: v for k, v in features.items() if k not in OPTIONAL_FEATURES}
    model = calibration.model_for("grammar", stripped, "writing")
    assert not model.requires
    assert math.isfinite(model.predict(stripped))


def test_a_richer_answer_scores_higher_on_every_text_criterion() -> None:
    rich = score_text([answer(RICH)])
    poor = score_text([answer(POOR)])
    for good, bad in zip(rich, poor, strict=True):
        assert good.sub_score is not None
        assert bad.sub_score is not None
        assert 0 <= bad.sub_score < good.sub_score <= 9, good.analyzer
        assert good.criterion == bad.criterion
    assert [r.criterion for r in rich] == ["lexical_resource", "grammar", "fluency_coherence"]
    assert all("calibration.text_v1" in r.version for r in rich)


def test_too_few_words_get_no_sub_score() -> None:
    results = score_text([answer("I live in a small flat near the station with my sister.")])
    for result in results:
        assert result.sub_score is None
        assert result.not_scored_reason
        assert str(MIN_WORDS) in result.not_scored_reason
        assert result.metrics  # still measured


def test_spoken_answers_use_no_writing_only_model() -> None:
    spoken = answer(RICH, duration_seconds=60.0, words=(TimedWord(text="I'd", start=0.0, end=0.3),))
    *_, coherence = score_text([spoken])
    *_, written = score_text([answer(RICH)])
    calibration = load_calibration()
    spoken_model = next(
        m for m in calibration.models.values() if coherence.version.endswith(m.name)
    )
    written_model = next(m for m in calibration.models.values() if written.version.endswith(m.name))
    assert not spoken_model.writing_only
    assert written_model.writing_only  # essays may use spelling and capitals
    assert coherence.sub_score is not None
    assert written.sub_score is not None


def test_the_band_mapping_is_monotonic_and_clipped() -> None:
    calibration = load_calibration()
    xs = [x / 10 for x in range(-20, 80)]
    bands = [calibration.to_band(x) for x in xs]
    assert bands == sorted(bands)
    assert min(bands) == 0.0
    assert max(bands) == 9.0
    for ellipse, band in calibration.anchors:
        assert calibration.to_band(ellipse) == pytest.approx(band)


def test_a_feature_is_clipped_and_a_missing_one_contributes_nothing() -> None:
    spec = FeatureSpec("x", "identity", 0.0, 2.0, -1.0, 1.0, 0.5)
    assert spec.contribution(None) == 0.0
    assert spec.contribution(float("nan")) == 0.0
    assert spec.contribution(1.0) == pytest.approx(0.25)
    assert spec.contribution(100.0) == pytest.approx(0.25)  # clipped at the training range
    logged = FeatureSpec("y", "log1p", math.log1p(1.0), 1.0, 0.0, 10.0, 1.0)
    assert logged.contribution(1.0) == pytest.approx(0.0)


def test_ridge_fit_recovers_the_signal_on_synthetic_data() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    y = 3 + 0.5 * x[:, 0] - 0.3 * x[:, 1] + rng.normal(scale=0.2, size=300)
    rows = [{"a": float(r[0]), "b": float(r[1]), "noise": float(r[2])} for r in x]
    fit = fit_linear_model("m", "grammar", "Grammar", rows, y.tolist(), ("a", "b", "noise"))
    weights = {s.name: s.weight for s in fit.model.features}
    assert weights["a"] > 0.3
    assert weights["b"] < -0.2
    assert abs(weights["noise"]) < 0.05
    assert fit.cv_r > 0.9
    assert fit.model.predict({"a": 0.0, "b": 0.0, "noise": 0.0}) == pytest.approx(3, abs=0.1)
    again = fit_linear_model("m", "grammar", "Grammar", rows, y.tolist(), ("a", "b", "noise"))
    assert again == fit  # deterministic


def test_the_fitted_spread_matches_the_human_scores_spread_on_the_training_rows() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 2))
    y = 3 + 0.4 * x[:, 0] + rng.normal(scale=0.5, size=400)  # a weak signal: r about 0.6
    rows = [{"a": float(r[0]), "b": float(r[1])} for r in x]
    fit = fit_linear_model("m", "grammar", "Grammar", rows, y.tolist(), ("a", "b"))

    raw = np.array([fit.model.raw_predict(row) for row in rows])
    stretched = np.array([fit.model.predict(row) for row in rows])

    assert raw.std() < 0.8 * y.std()  # the ridge prediction shrinks towards the mean
    assert fit.model.spread > 1.2
    assert stretched.std() == pytest.approx(y.std(), rel=1e-6)
    assert stretched.mean() == pytest.approx(y.mean(), abs=1e-6)
    assert np.corrcoef(raw, y)[0, 1] == pytest.approx(np.corrcoef(stretched, y)[0, 1])


def test_the_spread_stretches_a_prediction_about_the_intercept() -> None:
    spec = FeatureSpec("x", "identity", 0.0, 1.0, -5.0, 5.0, 0.5)
    plain = text_scoring.LinearModel("m", "grammar", "Grammar", (spec,), 3.0)
    wide = text_scoring.LinearModel("m", "grammar", "Grammar", (spec,), 3.0, spread=2.0)
    assert plain.predict({"x": 1.0}) == pytest.approx(3.5)
    assert wide.predict({"x": 1.0}) == pytest.approx(4.0)
    assert wide.predict({"x": -1.0}) == pytest.approx(2.0)
    assert wide.predict({}) == pytest.approx(3.0)  # at the mean nothing moves
    assert wide.raw_predict({"x": 1.0}) == pytest.approx(3.5)


def test_a_calibration_with_a_non_positive_spread_is_refused() -> None:
    raw = raw_calibration()
    name = next(iter(raw["models"]))
    raw["models"][name]["spread"] = 0.0
    with pytest.raises(ValueError, match="spread"):
        parse_calibration(raw)


def test_a_calibration_with_an_unknown_criterion_is_refused() -> None:
    raw = raw_calibration()
    name = next(iter(raw["models"]))
    raw["models"][name]["criterion"] = "pronunciation"
    with pytest.raises(ValueError, match="unknown criterion"):
        parse_calibration(raw)


def test_scoring_works_without_the_optional_components(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_scoring, "naturalness", lambda parts: {})
    monkeypatch.setattr(text_scoring, "grammar_issue_rate", lambda answers, words: None)
    results = score_text([answer(RICH)])
    for result in results:
        assert result.sub_score is not None
        assert "without" in result.version  # a fallback model
