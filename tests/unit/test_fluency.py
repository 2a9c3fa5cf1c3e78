"""Fluency from word timings: exact counts on hand-built answers, and one flite recording."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from shared.assessment.fluency import (
    anchored_band,
    calibration,
    find_pauses,
    find_repairs,
    fluency_analysis,
    fluency_profile,
    hesitation_ceiling,
    silent_intervals,
    syllables,
)
from shared.models.assessment import AnswerText, TimedWord

WORD_SECONDS = 0.3
GAP_SECONDS = 0.05
FILLERS = {"um", "uh", "er"}


def spoken(script: str, *, turn_id: str = "t1", part: int = 1, start: float = 0.5) -> AnswerText:
    """An answer from a script: words last 0.3 s with 0.05 s between them; ``[0.6]`` is a
    0.6 s silence instead of the usual gap; um/uh/er are filled pauses. Punctuation stays in
    the text (as a punctuating recogniser gives it) and is stripped from the timed words."""
    words: list[TimedWord] = []
    cursor = start
    gap = 0.0
    for token in script.split():
        silence = re.fullmatch(r"\[(\d+(?:\.\d+)?)\]", token)
        if silence:
            gap = float(silence.group(1))
            continue
        cursor += gap if words else 0.0
        bare = token.strip(".,!?")
        words.append(
            TimedWord(
                text=bare,
                start=round(cursor, 3),
                end=round(cursor + WORD_SECONDS, 3),
                filled_pause=bare.lower() in FILLERS,
            )
        )
        cursor += WORD_SECONDS
        gap = GAP_SECONDS
    text = " ".join(token for token in script.split() if not token.startswith("["))
    return AnswerText(
        turn_id=turn_id,
        part=part,  # type: ignore[arg-type]
        text=text,
        words=tuple(words),
        duration_seconds=round(cursor + 0.5, 3),
    )


def test_pauses_are_gaps_of_a_quarter_second_or_more() -> None:
    answer = spoken("I went [0.6] to the [0.3] park [0.2] yesterday [0.25] morning")

    pauses = find_pauses(answer)

    assert [(p.before, p.after) for p in pauses] == [(1, 2), (3, 4), (5, 6)]
    assert [round(p.seconds, 3) for p in pauses] == [0.6, 0.3, 0.25]
    assert pauses[0].start == pytest.approx(0.5 + 0.3 + 0.05 + 0.3)


def test_mean_length_of_run_counts_words_between_pauses_without_fillers() -> None:
    answer = spoken("I went um there [0.5] to the big [0.4] park")

    metrics = fluency_profile([answer]).metrics

    assert metrics["silent_pauses"] == 2
    assert metrics["mean_length_of_run"] == pytest.approx((3 + 3 + 1) / 3, abs=1e-3)
    assert metrics["filled_pauses"] == 1


def test_adjacent_fillers_are_one_hesitation_and_separate_ones_are_two() -> None:
    answer = spoken("I um went uh er to [0.5] um the park")

    profile = fluency_profile([answer]).answers[0]

    assert len(profile.filled_pauses) == 3  # um | uh er | um
    assert profile.filled_pauses[1] == (
        answer.words[3].start,
        answer.words[4].end,
    )


def test_speech_rate_is_words_over_speaking_time() -> None:
    # 40 words of 0.3 s with 0.05 s gaps: speaking time 40 * 0.3 + 39 * 0.05 = 13.95 s
    answer = spoken(" ".join(["word"] * 40))

    metrics = fluency_profile([answer]).metrics

    assert metrics["speaking_seconds"] == pytest.approx(13.95)
    assert metrics["speech_rate_wpm"] == pytest.approx(40 / 13.95 * 60, abs=0.01)
    assert metrics["articulation_rate_wpm"] == pytest.approx(metrics["speech_rate_wpm"])


def test_pauses_and_fillers_take_time_out_of_articulation_rate() -> None:
    answer = spoken("one two [1.0] three four um five six")

    metrics = fluency_profile([answer]).metrics

    phonation = metrics["speaking_seconds"] - 1.0 - WORD_SECONDS
    assert metrics["phonation_seconds"] == pytest.approx(phonation, abs=0.01)
    assert metrics["articulation_rate_wpm"] == pytest.approx(6 / phonation * 60, abs=0.1)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("I I went to the shop", ["I I"]),
        ("I went to the the the shop", ["the the", "the the"]),
        ("we met in the in the city centre", ["in the in the"]),
        ("I think that I think that it is fine", ["I think that I think that"]),
        ("I went um went to school", ["went um went"]),
        ("it was very very good", []),
        ("I like it and I like you", []),
    ],
)
def test_repetitions(script: str, expected: list[str]) -> None:
    repairs = find_repairs(spoken(script))

    assert [r.quote for r in repairs if r.kind == "repetition"] == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("yesterday I go I went to the market", ["I go I went"]),
        ("she have she has two cats", ["she have she has"]),
        ("I bought a apple an apple today", ["a apple an apple"]),
        ("my brother um my sister lives there", ["my brother um my sister"]),
        ("it is no I mean it was great", ["no I mean"]),
        ("I lived there or rather I stayed there", ["or rather"]),
        ("I think I will go", []),
        ("I like my flat [0.6] my hometown is small", []),
        ("I mean it is a good idea", []),
    ],
)
def test_self_corrections(script: str, expected: list[str]) -> None:
    repairs = find_repairs(spoken(script))

    assert [r.quote for r in repairs if r.kind == "self_correction"] == expected


def test_cut_off_word_then_restart_is_a_self_correction() -> None:
    answer = spoken("my mother- my father works there")

    repairs = find_repairs(answer)

    assert [(r.kind, r.quote) for r in repairs] == [("self_correction", "my mother- my father")]


@pytest.mark.parametrize(
    ("script", "locations"),
    [
        # inside a phrase: after a determiner, a preposition, an auxiliary, a conjunction
        ("I went to the [0.5] park", ["mid_clause"]),
        ("I went to [0.5] the park", ["mid_clause"]),
        ("it was [0.5] really nice", ["mid_clause"]),
        ("I stayed and [0.5] I read", ["mid_clause"]),
        # before a conjunction, a subject pronoun, a discourse marker
        ("I stayed home [0.5] because it rained", ["boundary"]),
        ("I stayed home [0.5] we watched films", ["boundary"]),
        ("it rained [0.5] however we went out", ["boundary"]),
        # a sentence end shown by punctuation, or by a subject and a verb after it
        ("I like tea. [0.5] Cats are nice", ["boundary"]),
        ("I like my flat [0.5] my hometown is small", ["boundary"]),
        # between content words with nothing to mark a clause
        ("my favourite [0.5] season", ["mid_clause"]),
        # no rule decides: the language model finds a sentence break likely, or not
        ("when I was young [0.5] the library near my house", ["boundary"]),
        ("I moved to a big company [0.5] reading the news", ["boundary"]),
        ("my sister lives [0.5] in London", ["mid_clause"]),
        ("the weather was so [0.5] cold that", ["mid_clause"]),
        # filled pauses are looked through
        (
            "I went to the [0.3] um [0.3] park [0.4] uh [0.4] because",
            ["mid_clause"] * 2 + ["boundary"] * 2,
        ),
    ],
)
def test_pause_location(script: str, locations: list[str]) -> None:
    pauses = find_pauses(spoken(script))

    assert [p.location for p in pauses] == locations


def test_mid_clause_share_over_the_test() -> None:
    answers = [
        spoken("I went to the [0.5] park [0.5] because it was [0.5] sunny", turn_id="a"),
        spoken("we met [0.5] and [0.5] we talked", turn_id="b"),
    ]

    metrics = fluency_profile(answers).metrics

    # a: the|park mid, park|because boundary, was|sunny mid; b: met|and boundary, and|we mid
    assert metrics["silent_pauses"] == 5
    assert metrics["mid_clause_pauses"] == 3
    assert metrics["mid_clause_pause_share"] == pytest.approx(0.6, abs=1e-3)


def test_a_quick_speaker_who_says_enough_is_not_short() -> None:
    # 70 words in 24.45 s: under Part 3's 30 s, but more than its 65 words.
    answer = spoken(" ".join(["word"] * 70), turn_id="p3", part=3)
    briefer = spoken(" ".join(["word"] * 60), turn_id="p3", part=3)

    assert fluency_analysis([answer]).metrics["answers_short"] == 0
    assert fluency_analysis([briefer]).metrics["answers_short"] == 1


def test_answer_length_against_the_part() -> None:
    words = " ".join(["word"] * 100)  # 34.95 s of speaking
    answers = [
        spoken(words, turn_id="p1", part=1),  # 15-45 s: in range
        spoken(words, turn_id="p2", part=2),  # 60-120 s: short
        spoken(words, turn_id="p3", part=3),  # 30-60 s: in range
    ]

    result = fluency_analysis(answers)

    assert result.metrics["answers_short"] == 1
    assert result.metrics["answer_length_in_range_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert result.metrics["part2_mean_seconds"] == pytest.approx(34.95)
    part2 = [e for e in result.evidence if e.metric == "part2_seconds"]
    assert part2
    assert part2[0].turn_id == "p2"


def _fluent(turn_id: str) -> AnswerText:
    sentence = "I usually walk to work because it is close to my flat and I enjoy it"
    return spoken(" [0.4] ".join([sentence] * 4), turn_id=turn_id, part=3)


def _halting(turn_id: str) -> AnswerText:
    script = (
        "I um [0.8] usually walk to the [1.2] the work [0.9] because it is [1.0] er close "
        "[0.7] to my [1.1] flat and [0.9] um I [0.8] enjoy it [0.6] I go I went there [0.9] "
        "and uh [1.0] it is [0.7] nice and [1.2] my the [0.8] my friend [0.9] um likes it too "
        "[0.8] and [1.0] er we [0.9] walk to [0.7] the [1.1] park"
    )
    return spoken(script, turn_id=turn_id, part=3)


def test_a_halting_speaker_scores_below_a_fluent_one() -> None:
    fluent = fluency_analysis([_fluent("a"), _fluent("b")])
    halting = fluency_analysis([_halting("a"), _halting("b")])

    assert fluent.sub_score is not None
    assert halting.sub_score is not None
    assert halting.sub_score < fluent.sub_score - 2
    assert 0 <= halting.sub_score <= 9
    assert 0 <= fluent.sub_score <= 9
    assert fluent.criterion == halting.criterion == "fluency_coherence"
    assert 2 <= len(halting.evidence) <= 4
    quotes = [e for e in halting.evidence if e.kind == "quote"]
    assert quotes
    assert all(e.turn_id and e.start_seconds is not None for e in quotes)
    for evidence in quotes:  # verbatim from the learner's own words
        assert evidence.quote is not None
        assert evidence.quote in " ".join(w.text for w in _halting("a").words)


def test_too_little_speech_is_not_scored() -> None:
    result = fluency_analysis([spoken("I like it very much")])

    assert result.sub_score is None
    assert result.not_scored_reason
    assert "too little speech" in result.not_scored_reason


def test_no_timed_words_is_not_scored() -> None:
    answer = AnswerText(turn_id="t", part=1, text="hello there", duration_seconds=3.0)

    result = fluency_analysis([answer])

    assert result.sub_score is None
    assert result.not_scored_reason


def test_anchored_band_interpolates_and_clamps() -> None:
    anchors = [[50.0, 3.0], [100.0, 5.0], [150.0, 8.0]]

    assert anchored_band(75.0, anchors) == pytest.approx(4.0)
    assert anchored_band(125.0, anchors) == pytest.approx(6.5)
    assert anchored_band(10.0, anchors) == 3.0
    assert anchored_band(500.0, anchors) == 8.0
    assert anchored_band(8.0, [[6.0, 9.0], [10.0, 7.0]]) == pytest.approx(8.0)


def test_every_fluency_component_is_a_metric_the_analyzer_reports() -> None:
    answers = [_halting("a"), _fluent("b")]
    metrics = fluency_profile(answers).metrics
    settings = calibration()

    assert settings["version"] == "audio_v1.1"
    components = settings["fluency"]["components"]
    for name, spec in components.items():
        assert name in metrics, name
        assert spec["weight"] > 0
        assert len(spec["anchors"]) >= 2
    ceiling = settings["fluency"]["ceiling"]
    assert set(ceiling["components"]) <= set(components)
    assert 0 < ceiling["margin"] <= 2


def test_the_weakest_sign_of_hesitation_caps_the_band() -> None:
    rule = {"components": ["repairs_per_100_words", "speech_rate_wpm"], "margin": 1.0}

    capped = hesitation_ceiling({"repairs_per_100_words": 5.0, "speech_rate_wpm": 9.0}, rule)
    only_other = hesitation_ceiling({"mean_length_of_run": 4.0}, rule)

    assert capped == pytest.approx(6.0)
    assert only_other is None  # nothing measured that the rule names


def _fast_but_repairing(turn_id: str) -> AnswerText:
    # No pause anywhere and quick, but a restart or a word said twice every 10-12 words.
    script = (
        "I think I think that my city is a nice place to live because the the parks are big "
        "and I go I went there with my friends on Sundays and we we walk around the lake and "
        "then we have lunch in a small cafe near the the station where the food is good and "
        "cheap and my my brother works there so he he gives us a good table by the window"
    )
    return spoken(script, turn_id=turn_id, part=3)


def test_fast_speech_does_not_buy_back_frequent_repairs() -> None:
    result = fluency_analysis([_fast_but_repairing("a"), _fast_but_repairing("b")])

    assert result.sub_score is not None
    repairs_band = result.metrics["band_repairs_per_100_words"]
    assert repairs_band <= 5.0  # a repair every 10-12 words: relies on them
    assert result.metrics["band_speech_rate_wpm"] == 9.0
    assert result.metrics["hesitation_ceiling"] == pytest.approx(repairs_band + 1.0, abs=0.01)
    assert result.sub_score <= repairs_band + 1.0 + 1e-9


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("cat", 1),
        ("table", 2),
        ("walked", 1),
        ("wanted", 2),
        ("going", 2),
        ("beautiful", 3),
        ("idea", 3),
        ("every", 3),
        ("education", 4),
        ("make", 1),
        ("boxes", 2),
    ],
)
def test_syllables(word: str, count: int) -> None:
    assert syllables(word) == count


def _tone_bursts(layout: list[tuple[str, float]]) -> bytes:
    """Voiced-like bursts ("tone", seconds) and silences ("gap", seconds) with faint noise."""
    rate = 16000
    parts = []
    for kind, seconds in layout:
        t = np.arange(round(seconds * rate)) / rate
        if kind == "tone":
            parts.append(8000 * np.sin(2 * np.pi * 150 * t) + 3000 * np.sin(2 * np.pi * 450 * t))
        elif kind == "noise":  # voiceless, like "s" or "f"
            parts.append(np.random.default_rng(2).normal(0, 5000, len(t)))
        elif kind == "speech":  # voiced, its spectrum changing every 50 ms, as in words
            shape = 1 + (np.floor(t / 0.05) % 4)  # the overtone's place moves
            overtone = 4000 * np.sin(2 * np.pi * 150 * (shape + 1) * t)
            parts.append(6000 * np.sin(2 * np.pi * 150 * t) + overtone)
        else:
            parts.append(np.zeros(len(t)))
    signal = np.concatenate(parts) + np.random.default_rng(1).normal(0, 30, sum(map(len, parts)))
    return bytes(signal.astype("<i2").tobytes())


def test_silent_intervals_find_silences_to_the_frame() -> None:
    pcm = _tone_bursts([("tone", 1.0), ("gap", 0.5), ("tone", 0.8), ("gap", 0.2), ("tone", 1.0)])

    silences = silent_intervals(pcm)

    assert len(silences) == 1  # the 0.2 s gap is not a pause
    start, end = silences[0]
    assert start == pytest.approx(1.0, abs=0.011)
    assert end == pytest.approx(1.5, abs=0.011)


def test_audio_finds_a_pause_the_word_timings_hide() -> None:
    # The recogniser stretched "park" over the silence after it: no gap between the words.
    pcm = _tone_bursts([("tone", 1.0), ("gap", 0.6), ("tone", 1.0)])
    words = (
        TimedWord(text="the", start=0.0, end=0.4),
        TimedWord(text="park", start=0.4, end=1.5),
        TimedWord(text="is", start=1.6, end=2.0),
        TimedWord(text="big", start=2.0, end=2.6),
    )
    answer = AnswerText(turn_id="t", part=1, text="the park is big", words=words)

    without = fluency_profile([answer]).answers[0].pauses
    with_audio = fluency_profile([answer], {"t": pcm}).answers[0].pauses

    assert without == ()
    assert len(with_audio) == 1
    assert with_audio[0].start == pytest.approx(1.0, abs=0.02)
    assert with_audio[0].end == pytest.approx(1.6, abs=0.02)
    assert (with_audio[0].before, with_audio[0].after) == (1, 2)


def test_a_flite_recording_has_a_plausible_speech_rate() -> None:
    from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText
    from tests.speech_samples import SENTENCES, long_answer

    recording = long_answer(SENTENCES[:3], [0.6, 0.8])
    transcript = PocketsphinxSpeechToText().transcribe(recording.pcm16, 16000, language="en")
    answer = AnswerText(
        turn_id="t1",
        part=1,
        text=transcript.text,
        words=tuple(
            TimedWord(text=w.text, start=w.start, end=w.end, filled_pause=w.filled_pause)
            for w in transcript.words
        ),
        duration_seconds=recording.duration,
    )

    metrics = fluency_analysis([answer], {"t1": recording.pcm16}).metrics

    # flite reads at about 180-200 words a minute; people talk at 100-200.
    assert 120 <= metrics["speech_rate_wpm"] <= 260
    assert metrics["speech_rate_wpm"] < metrics["articulation_rate_wpm"]
    assert metrics["silent_pauses"] == 2  # the two silences placed between the sentences
    assert metrics["mean_pause_seconds"] >= 0.6
    assert not math.isnan(metrics["mean_length_of_run"])


def test_audio_widens_a_hesitation_and_drops_a_filler_inside_a_word() -> None:
    # words 0-1.0 ("I went"), silence, sound 1.5-1.9 (the hesitation), silence, sound 2.4-3.8
    # (longer than a held sound can be)
    pcm = _tone_bursts([("speech", 1.0), ("gap", 0.5), ("tone", 0.4), ("gap", 0.5), ("tone", 1.4)])
    words = (
        TimedWord(text="I", start=0.0, end=0.4),
        TimedWord(text="uh", start=0.41, end=0.45, filled_pause=True),  # inside "I went"
        TimedWord(text="went", start=0.45, end=1.0),
        TimedWord(text="uh", start=1.65, end=1.7, filled_pause=True),  # the real one, clipped
        TimedWord(text="home", start=2.4, end=3.8),
    )
    answer = AnswerText(turn_id="t", part=1, text="I uh went uh home", words=words)

    words_only = fluency_profile([answer]).answers[0].filled_pauses
    with_audio = fluency_profile([answer], {"t": pcm}).answers[0].filled_pauses

    assert len(words_only) == 2
    assert len(with_audio) == 1
    start, end = with_audio[0]
    assert start == pytest.approx(1.5, abs=0.02)
    assert end == pytest.approx(1.9, abs=0.02)


def _held_case(middle: str, word_end: float = 2.0) -> tuple[AnswerText, bytes]:
    """Speech, a 0.5 s sound between silences that the recogniser took for "them", speech."""
    pcm = _tone_bursts(
        [("speech", 1.0), ("gap", 0.5), (middle, 0.5), ("gap", 0.5), ("speech", 1.4)]
    )
    words = (
        TimedWord(text="I", start=0.0, end=0.3),
        TimedWord(text="think", start=0.3, end=1.0),
        TimedWord(text="them", start=1.52, end=word_end),
        TimedWord(text="cities", start=2.5, end=3.1),
        TimedWord(text="grow", start=3.1, end=3.9),
    )
    return AnswerText(turn_id="t", part=1, text="I think them cities grow", words=words), pcm


def test_a_held_sound_taken_for_a_word_is_a_filled_pause() -> None:
    answer, pcm = _held_case("tone")

    measured = fluency_profile([answer], {"t": pcm})
    filled = measured.answers[0].filled_pauses

    assert len(filled) == 1
    assert filled[0][0] == pytest.approx(1.5, abs=0.02)  # the sound's edges, not the word's
    assert filled[0][1] == pytest.approx(2.0, abs=0.02)
    assert measured.metrics["words"] == 4  # "them" was a hesitation, not a word
    assert fluency_profile([answer]).metrics["words"] == 5  # without audio: a word


@pytest.mark.parametrize(
    ("middle", "word_end", "why"),
    [
        ("speech", 2.0, "its spectrum keeps changing: a word"),
        ("noise", 2.0, "voiceless"),
        ("tone", 2.9, "the word runs on past the silence"),
    ],
)
def test_other_sounds_between_silences_stay_words(middle: str, word_end: float, why: str) -> None:
    answer, pcm = _held_case(middle, word_end)

    measured = fluency_profile([answer], {"t": pcm})

    assert measured.answers[0].filled_pauses == (), why
    assert measured.metrics["words"] == 5, why


def _hesitation_case(
    middle: list[tuple[str, float]], heard: list[tuple[str, float, float]]
) -> AnswerText:
    """Words (0-1.0 s), 0.5 s of silence, ``middle`` from 1.5 s, 0.5 s of silence, words;
    ``heard`` is what the recogniser made of the middle (text, start, end)."""
    middle_seconds = sum(seconds for _, seconds in middle)
    after = 1.5 + middle_seconds + 0.5
    words = (
        TimedWord(text="I", start=0.0, end=0.3),
        TimedWord(text="think", start=0.3, end=1.0),
        *(
            TimedWord(text=text, start=start, end=end, filled_pause=text in {"uh", "er", "um"})
            for text, start, end in heard
        ),
        TimedWord(text="cities", start=after, end=after + 0.6),
        TimedWord(text="grow", start=after + 0.6, end=after + 1.4),
    )
    text = " ".join(word.text for word in words)
    return AnswerText(turn_id="t", part=1, text=text, words=words)


def _hesitation_audio(middle: list[tuple[str, float]]) -> bytes:
    return _tone_bursts([("speech", 1.0), ("gap", 0.5), *middle, ("gap", 0.5), ("speech", 1.4)])


@pytest.mark.parametrize(
    ("heard", "why"),
    [
        ([], "the recogniser heard nothing in it"),
        ([("the", 1.48, 1.7), ("er", 1.7, 2.0)], "a word and a filler: the word was its start"),
        ([("uh", 1.5, 1.6), ("uh", 1.9, 2.0)], "two fillers far apart in one sound"),
    ],
)
def test_a_held_sound_is_one_hesitation_with_its_own_edges(
    heard: list[tuple[str, float, float]], why: str
) -> None:
    middle = [("tone", 0.5)]
    answer = _hesitation_case(middle, heard)

    measured = fluency_profile([answer], {"t": _hesitation_audio(middle)})

    assert measured.answers[0].filled_pauses == ((1.5, 2.0),), why
    assert measured.metrics["words"] == 4, why  # "the" was the hesitation's start, not a word


@pytest.mark.parametrize(
    ("heard", "end", "why"),
    [
        ([("them", 1.5, 1.9)], 2.04, "the hum after the dip is the end of the um"),
        ([("them", 1.5, 1.9), ("a", 1.94, 2.04)], 1.9, "a word heard in it: not a hum"),
    ],
)
def test_the_hum_of_um_after_a_short_dip_belongs_to_the_hesitation(
    heard: list[tuple[str, float, float]], end: float, why: str
) -> None:
    # The vowel held 0.4 s, a 40 ms dip below the silence threshold, then 0.1 s of sound.
    middle = [("tone", 0.4), ("gap", 0.04), ("tone", 0.1)]
    answer = _hesitation_case(middle, heard)

    filled = fluency_profile([answer], {"t": _hesitation_audio(middle)}).answers[0].filled_pauses

    assert len(filled) == 1, why
    assert filled[0][0] == pytest.approx(1.5, abs=0.02), why
    assert filled[0][1] == pytest.approx(end, abs=0.02), why


def test_held_sounds_parted_by_silence_are_two_hesitations() -> None:
    middle = [("tone", 0.4), ("gap", 0.12), ("tone", 0.4)]
    answer = _hesitation_case(middle, [("uh", 1.5, 1.9), ("er", 2.02, 2.42)])

    filled = fluency_profile([answer], {"t": _hesitation_audio(middle)}).answers[0].filled_pauses

    assert len(filled) == 2


def test_audio_that_cannot_tell_silence_from_speech_falls_back_on_word_gaps() -> None:
    noise = np.random.default_rng(4).normal(0, 4000, 4 * 16000).astype("<i2").tobytes()
    answer = spoken("I went [0.6] to the park")

    assert silent_intervals(noise) is None
    pauses = fluency_profile([answer], {answer.turn_id: noise}).answers[0].pauses
    assert [(p.before, p.after) for p in pauses] == [(1, 2)]
