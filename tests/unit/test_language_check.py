"""Language checks: English or not, repeat requests, and a conservative off-topic check."""

from __future__ import annotations

import pytest

from shared.exam import language_check
from shared.exam.language_check import (
    OFF_TOPIC_MIN_CONTENT_WORDS,
    answered_turn,
    check_answer,
    check_english,
    check_on_topic,
    check_transcript,
    is_repeat_request,
    mean_confidence,
    non_latin_share,
)
from shared.models.exam import AnswerContext, AnswerFlags
from shared.models.speech import TranscribedWord, Transcript

ENGLISH = [
    "I live in Ho Chi Minh City with my family and my two cats.",
    "Well, I think young people should help their neighbours more because they have time.",
    "My hometown is Guadalajara, it's in Mexico and it's famous for tequila and mariachi.",
    "I usually eat pho or banh mi for breakfast.",
    "I love arroz con pollo and my mother makes it every Sunday.",
    "um I am working as a nurse in a hospital",
    "ok so basically I am uh engineer in software company",
    "Mostly I go to the bazaar with my grandmother on Saturdays.",
    "Well I work as a software engineer in Tashkent at a big bank.",
    "Yes.",
    "No, not really.",
]
OTHER_LATIN = {
    "es": "Yo vivo en una casa grande con mi familia y mis dos perros.",
    "fr": "Je suis étudiant à l'université et j'habite avec mes parents.",
    "de": "Ich wohne in einer kleinen Wohnung in der Stadt.",
    "pt": "Eu moro com a minha família numa casa perto da praia.",
    "it": "Io abito in un piccolo appartamento vicino al centro.",
    "id": "Saya tinggal di Jakarta bersama keluarga saya.",
    "vi": "Tôi sống ở Hà Nội với gia đình.",
    "tr": "Bu yaz tatilde ailemle denize gittik.",
    "pl": "Mieszkam w małym mieszkaniu z rodzicami.",
    "uz": "Men uyda oilam bilan yashayman.",
}
OTHER_SCRIPTS = {
    "ru": "Я живу в маленькой квартире с семьёй.",
    "zh": "我住在一个小公寓里。",
    "ar": "أنا أعيش في شقة صغيرة.",
    "hi": "मैं एक छोटे से घर में रहता हूँ।",
    "ja": "私は小さなアパートに住んでいます。",
    "ko": "저는 작은 아파트에 살아요.",
}


@pytest.mark.parametrize("text", ENGLISH)
def test_english_answers_pass_with_names_and_borrowed_words(text: str) -> None:
    check = check_english(text)
    assert check.is_english, check


@pytest.mark.parametrize(("language", "text"), sorted(OTHER_LATIN.items()))
def test_other_latin_script_languages_are_caught_by_vocabulary(language: str, text: str) -> None:
    check = check_english(text)
    assert not check.is_english, (language, check)
    assert check.reason == "vocabulary"


def test_the_likely_language_is_named_when_wordfreq_knows_it() -> None:
    assert check_english(OTHER_LATIN["es"]).likely_language == "es"
    assert check_english(OTHER_LATIN["de"]).likely_language == "de"


@pytest.mark.parametrize(("language", "text"), sorted(OTHER_SCRIPTS.items()))
def test_other_scripts_are_not_english(language: str, text: str) -> None:
    check = check_english(text)
    assert not check.is_english, language
    assert check.reason == "script"
    assert non_latin_share(text) > 0.9


def test_the_learners_first_language_is_compared_too() -> None:
    norwegian = "Jeg bor i en liten leilighet sammen med familien min"
    assert check_english(norwegian).is_english, "not a default candidate: slips through"
    caught = check_english(norwegian, first_language="nb")
    assert not caught.is_english
    assert caught.likely_language == "nb"


def test_the_recognisers_language_and_confidence_are_extra_signals() -> None:
    text = "I like to walk in the park near my house"
    assert check_english(text, language_code="en-GB").is_english
    reported = check_english(text, language_code="es-ES")
    assert (reported.is_english, reported.reason) == (False, "recogniser_language")
    low = check_english(text, confidence=0.2)
    assert (low.is_english, low.reason) == (False, "low_confidence")
    assert check_english(text, confidence=0.55).is_english, "accented English stays English"
    assert check_english(text, confidence=None).is_english


def test_empty_and_filler_only_transcripts_are_not_judged() -> None:
    assert check_english("").reason == "no_words"
    assert check_english("um uh er").is_english
    assert check_english("Si.").is_english, "one or two words prove nothing"


@pytest.mark.parametrize(
    "text",
    [
        "Sorry, can you repeat the question?",
        "Could you say that again, please?",
        "Pardon?",
        "pardon",
        "Sorry?",
        "What do you mean?",
        "Sorry, I didn't catch that.",
        "I don't understand the question.",
        "Excuse me, could you repeat that please",
        "um sorry what was the question",
        "Can you ask that again?",
        "One more time, please.",
    ],
)
def test_repeat_requests_are_recognised(text: str) -> None:
    assert is_repeat_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sorry, I don't know much about this, but I think parks are important for children.",
        "Excuse me, I live in a flat in the city centre with my brother.",
        "I don't know.",
        "What do you mean by success is a hard question, but for me it means being happy "
        "with my family and having a job I enjoy every day.",
        "My grandmother always says one more time when she teaches me to cook rice.",
        "I like repeating songs I love on the radio.",
    ],
)
def test_answers_that_only_contain_such_words_are_not_requests(text: str) -> None:
    assert not is_repeat_request(text)


REFERENCE = (
    "Work. What do you do for a living? Why did you choose that kind of work? "
    "What does a typical day at work look like for you?"
)


def test_a_long_unrelated_answer_is_off_topic() -> None:
    unrelated = (
        "Football is the most popular sport on the planet, and the national team won the "
        "championship after penalties. Supporters celebrated in stadiums, waving flags and "
        "singing anthems while players lifted trophies. Goalkeepers saved shots, strikers "
        "scored goals, coaches planned tactics, referees showed cards, and television "
        "channels broadcast highlights across continents for millions watching matches."
    )
    check = check_on_topic(unrelated, REFERENCE)
    assert check.content_words >= OFF_TOPIC_MIN_CONTENT_WORDS
    assert check.off_topic
    assert check.shared_words == 0


def test_on_topic_answers_even_with_new_words_are_not_off_topic() -> None:
    nurse = (
        "I'm a nurse at the city hospital. I chose it because I wanted to care for patients, "
        "and my mother was also a nurse. A typical shift starts at seven, I check medicines, "
        "talk to doctors, write reports, and help families understand treatment. It is tiring "
        "but rewarding, and colleagues support each other through difficult nights."
    )
    assert not check_on_topic(nurse, REFERENCE).off_topic


def test_short_answers_are_never_off_topic() -> None:
    assert not check_on_topic("I enjoy playing football with friends.", REFERENCE).off_topic
    assert not check_on_topic("Bananas.", REFERENCE).off_topic


def test_check_answer_gives_one_reason_at_a_time() -> None:
    assert check_answer("") == AnswerFlags(silent=True)
    assert check_answer("um uh") == AnswerFlags(silent=True)
    assert check_answer("Sorry, could you repeat that?") == AnswerFlags(asked_repeat=True)
    assert check_answer(OTHER_LATIN["es"], reference=REFERENCE) == AnswerFlags(not_english=True)
    assert check_answer("I work in a bank in the city.", reference=REFERENCE) == AnswerFlags()


def test_check_transcript_uses_the_recognisers_confidence_and_language() -> None:
    words = [
        TranscribedWord(text=w, start=i, end=i + 0.5, confidence=0.15)
        for i, w in enumerate(["I", "like", "to", "walk", "in", "the", "park"])
    ]
    low = Transcript(
        text="I like to walk in the park",
        words=words,
        language="en-GB",
        model="test",
        duration_seconds=5,
    )
    assert check_transcript(low).not_english
    sure = low.model_copy(
        update={"words": [w.model_copy(update={"confidence": 0.9}) for w in words]}
    )
    assert check_transcript(sure) == AnswerFlags()
    spanish = sure.model_copy(update={"language": "es-US"})
    assert check_transcript(spanish).not_english
    assert mean_confidence([None, None]) is None
    assert mean_confidence([0.5, None, 1.0]) == pytest.approx(0.75)


def test_answered_turn_builds_the_policys_view_of_an_answer() -> None:
    words = [
        TranscribedWord(text="um", start=0, end=0.3, filled_pause=True),
        *(
            TranscribedWord(text=w, start=i + 1, end=i + 1.5, confidence=0.9)
            for i, w in enumerate(["I", "work", "in", "a", "bank"])
        ),
    ]
    transcript = Transcript(
        text="um I work in a bank", words=words, language="en-GB", model="t", duration_seconds=6
    )
    context = AnswerContext(
        stage="part1",
        part=1,
        question_id="p1.work.q1",
        question_text="What do you do for a living?",
        reference_text=REFERENCE,
        checks_topic=True,
    )
    turn = answered_turn(transcript, context=context, duration_seconds=6.2, speech_seconds=4.0)
    assert turn.word_count == 5
    assert turn.duration_seconds == 6.2
    assert turn.flags == AnswerFlags()
    assert turn.transcript == "um I work in a bank"


def test_without_wordfreq_only_the_other_rules_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language_check, "_wordfreq", lambda: None)
    language_check._zipf.cache_clear()
    language_check._wordfreq_languages.cache_clear()
    try:
        assert not language_check.vocabulary_check_available()
        assert check_english(OTHER_LATIN["es"]).is_english, "the known limit without wordfreq"
        assert check_english(OTHER_SCRIPTS["ru"]).reason == "script"
        assert check_english("I like it", confidence=0.1).reason == "low_confidence"
    finally:
        language_check._zipf.cache_clear()
        language_check._wordfreq_languages.cache_clear()
