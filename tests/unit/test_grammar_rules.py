"""Rule-based grammar checker: each rule on its textbook cases, correct English left alone.

Independent of the evaluation data in ../shared/data (JFLEG is measured by bench/grammar_eval).
The parser is switched off here unless a test says otherwise, so the results do not depend on
whether link-grammar is installed.
"""

from __future__ import annotations

import itertools
import tomllib
from typing import Any, NamedTuple, get_args

import pytest

from shared.assessment import grammar_errors
from shared.assessment.grammar_errors import MATCHERS, find_grammar_issues
from shared.assessment.grammar_rules import (
    CATEGORIES,
    RULES_PATH,
    Category,
    RulesError,
    inflect,
    load_rule_book,
    parse_rule_book,
    regular_past,
    regular_plural,
    starts_with_vowel_sound,
    third_person,
)
from shared.assessment.tokens import split_sentences, tokenize
from shared.models.assessment import GrammarIssue

BOOK = load_rule_book()
REQUIRED_LANGUAGES = ("uz", "ru", "zh", "ar", "es", "vi", "hi")


class Case(NamedTuple):
    text: str
    rule_id: str
    span: str
    correction: str
    first_language: str | None


# One or more textbook errors per rule: the span the learner sees and its rewrite. A rule whose
# confidence is below the report threshold is tested with a first language that raises it.
CASES = [
    Case("I bought a apple yesterday.", "article.a_before_vowel_sound", "a", "an", None),
    Case("She is an university student.", "article.an_before_consonant_sound", "an", "a", None),
    Case("I have car but I rarely drive.", "article.missing_before_singular", "car", "a car", None),
    Case(
        "My brother lives in city near the sea.",
        "article.missing_after_preposition",
        "city",
        "the city",
        None,
    ),
    Case(
        "Teacher said that the exam was hard.",
        "article.missing_subject",
        "Teacher",
        "The teacher",
        None,
    ),
    Case(
        "We stayed in cottage near the lake.",
        "article.missing_before_unlisted_noun",
        "cottage",
        "the cottage",
        "ru",
    ),
    Case("We spent lot of money on food.", "article.lot_of_without_a", "lot", "a lot", None),
    Case("I met the my best friend there.", "article.the_before_possessive", "the", "", None),
    Case("The most of my friends live abroad.", "article.the_most_of", "The", "", None),
    Case("In the nowadays people travel a lot.", "article.the_nowadays", "the", "", None),
    Case("She has a friends in London.", "article.a_with_plural", "a friends", "a friend", None),
    Case("I have lived there for long time.", "article.for_long_time", "long", "a long", None),
    Case("I think the life is very short.", "article.the_generic_abstract", "the", "", "es"),
    Case("He go to school by bus.", "agreement.third_person_base_verb", "go", "goes", None),
    Case("They goes to the gym every day.", "agreement.plural_subject_s_verb", "goes", "go", None),
    Case("They is my best friends.", "agreement.be_form", "is", "are", None),
    Case("She have two brothers.", "agreement.have_has", "have", "has", None),
    Case("He don't like coffee.", "agreement.do_does", "don't", "doesn't", None),
    Case("Some people is very friendly here.", "agreement.people_singular_verb", "is", "are", None),
    Case("There is many parks in my town.", "agreement.there_is_plural", "is", "are", None),
    Case("Everyone are welcome at the party.", "agreement.everyone_plural_verb", "are", "is", None),
    Case("Everybody know this song.", "agreement.everyone_base_verb", "know", "knows", None),
    Case("My brother want to travel.", "agreement.noun_subject_base_verb", "want", "wants", "uz"),
    Case("The students is very busy before exams.", "agreement.noun_subject_be", "is", "are", None),
    Case("I think this make people happy.", "agreement.this_base_verb", "make", "makes", None),
    Case("She doesn't likes spicy food.", "agreement.do_with_s_form", "likes", "like", None),
    Case("I met a person who are very kind.", "agreement.relative_clause_verb", "are", "is", None),
    Case("Yesterday I go to the cinema.", "tense.past_marker_present_verb", "go", "went", None),
    Case("I live here since 2010.", "tense.since_present_simple", "live", "have lived", None),
    Case(
        "In ten years we use electric cars.", "tense.future_marker_present", "use", "will use", "zh"
    ),
    Case("It is make people nervous.", "tense.be_with_bare_verb", "is make", "makes", None),
    Case("I have write three essays.", "tense.have_base_form", "write", "written", None),
    Case("It's is a beautiful city.", "tense.double_be", "is", "", None),
    Case("I didn't went to the party.", "tense.did_past_form", "went", "go", None),
    Case("Did you went there?", "tense.did_subject_past_form", "went", "go", None),
    Case("You can went there by train.", "tense.modal_wrong_form", "went", "go", None),
    Case("I have went there twice.", "tense.have_past_for_participle", "went", "gone", None),
    Case(
        "The accident was happened at night.",
        "tense.be_with_unaccusative_passive",
        "was happened",
        "happened",
        None,
    ),
    Case("I wanted to bought a new phone.", "tense.to_past_form", "bought", "buy", None),
    Case("I want to going abroad.", "tense.to_ing_after_want", "going", "go", None),
    Case(
        "I need some informations about it.",
        "plural.uncountable_with_s",
        "informations",
        "information",
        None,
    ),
    Case("Many peoples like football.", "plural.peoples", "peoples", "people", None),
    Case("I have two brother.", "plural.quantifier_singular_noun", "brother", "brothers", None),
    Case("One of my friend is a doctor.", "plural.one_of_singular", "friend", "friends", None),
    Case(
        "This books are interesting.",
        "plural.singular_determiner_plural_noun",
        "This",
        "These",
        None,
    ),
    Case(
        "I have visited other country before.",
        "plural.other_singular",
        "country",
        "countries",
        None,
    ),
    Case("The number of car is growing.", "plural.number_of_singular", "car", "cars", None),
    Case(
        "We need more teacher in our school.", "plural.more_singular", "teacher", "teachers", None
    ),
    Case("Most of people like music.", "plural.most_of_bare", "of", "", None),
    Case("There are much people in the street.", "plural.much_countable", "much", "many", None),
    Case("I don't have many money.", "plural.many_uncountable", "many", "much", None),
    Case("She gave me an advice.", "plural.a_uncountable", "an", "", None),
    Case("Others people think differently.", "plural.others_adjective", "Others", "Other", None),
    Case("We discussed about the plan.", "preposition.discuss_about", "about", "", None),
    Case("She is married with him.", "preposition.married_with", "with", "to", None),
    Case("He wants to marry with her.", "preposition.marry_with", "with", "", None),
    Case("It depends of the weather.", "preposition.depend_of", "of", "on", None),
    Case("I am good in cooking.", "preposition.good_in", "in", "at", None),
    Case("I am interested about history.", "preposition.interested_about", "about", "in", None),
    Case("We arrived to the airport late.", "preposition.arrive_to", "to", "at", None),
    Case(
        "I listen music every evening.",
        "preposition.listen_without_to",
        "listen",
        "listen to",
        None,
    ),
    Case("Can you explain me the rules?", "preposition.explain_me", "explain", "explain to", None),
    Case(
        "He mentioned about his job.", "preposition.verb_takes_object_directly", "about", "", None
    ),
    Case("Please tell to me the truth.", "preposition.tell_to_person", "to", "", None),
    Case("They lack of experience.", "preposition.lack_of_verb", "of", "", None),
    Case("I went to home early.", "preposition.go_to_home", "to", "", None),
    Case("The team consists from five people.", "preposition.consist_from", "from", "of", None),
    Case("I am afraid from dogs.", "preposition.afraid_from", "from", "of", None),
    Case("Are you aware about the risks?", "preposition.aware_about", "about", "of", None),
    Case("He is responsible of the project.", "preposition.responsible_of", "of", "for", None),
    Case("She suffers of headaches.", "preposition.suffer_of", "of", "from", None),
    Case("My city is similar with yours.", "preposition.similar_with", "with", "to", None),
    Case("We went out despite of the rain.", "preposition.despite_of", "of", "", None),
    Case("In the other hand, it is expensive.", "preposition.on_the_other_hand", "In", "On", None),
    Case("On my opinion, it is a good idea.", "preposition.in_my_opinion", "On", "In", None),
    Case("I usually study at the evening.", "preposition.at_the_morning", "at", "in", None),
    Case("I play football in Sunday.", "preposition.in_weekday", "in", "on", None),
    Case(
        "I have studied English since three years.",
        "preposition.since_duration",
        "since",
        "for",
        None,
    ),
    Case("I lived there during two years.", "preposition.during_duration", "during", "for", None),
    Case("I am waiting the bus.", "preposition.wait_without_for", "waiting", "waiting for", None),
    Case("Let's go to shopping.", "preposition.go_to_activity", "to", "", None),
    Case("I came here for to study.", "preposition.for_to", "for", "", None),
    Case(
        "She is interested in learn languages.",
        "preposition.base_after_preposition",
        "learn",
        "learning",
        None,
    ),
    Case("I very like swimming.", "word_order.very_before_verb", "very", "really", None),
    Case(
        "The room is not enough big.",
        "word_order.enough_before_adjective",
        "enough big",
        "big enough",
        None,
    ),
    Case(
        "What you are doing?", "word_order.question_subject_before_verb", "you are", "are you", None
    ),
    Case("Where you work?", "word_order.question_missing_do", "you", "do you", None),
    Case(
        "Always I get up early.", "word_order.adverb_before_subject", "Always I", "I always", None
    ),
    Case(
        "I play always football.",
        "word_order.adverb_between_verb_object",
        "play always",
        "always play",
        None,
    ),
    Case(
        "I like very much football.",
        "word_order.very_much_before_object",
        "very much football",
        "football very much",
        None,
    ),
    Case("Is very important to sleep well.", "missing.subject_is_at_start", "Is", "It is", None),
    Case(
        "I stayed home because was very cold.",
        "missing.subject_after_conjunction",
        "was",
        "it was",
        None,
    ),
    Case(
        "She very happy with her job.", "missing.copula_before_adjective", "very", "is very", None
    ),
    Case("They busy with work.", "missing.copula_pronoun_adjective", "busy", "are busy", "ru"),
    Case("In my city there many parks.", "missing.there_are", "many", "are many", None),
    Case("In my country there have many rivers.", "missing.there_have", "have", "are", None),
    Case("It will useful for students.", "missing.be_after_modal", "useful", "be useful", None),
    Case("I think they going to win.", "missing.be_before_ing", "they", "they are", None),
    Case("Can be very useful for children.", "missing.subject_before_modal", "Can", "It can", None),
    Case("This phone is more better than mine.", "comparative.double", "more", "", None),
    Case("It was the most best day.", "comparative.double_superlative", "most", "", None),
    Case(
        "It is more easy than English.",
        "comparative.more_short_adjective",
        "more easy",
        "easier",
        None,
    ),
    Case(
        "It is the most big city in the country.",
        "comparative.most_short_adjective",
        "most big",
        "biggest",
        None,
    ),
    Case("Her cooking is gooder than mine.", "comparative.wrong_form", "gooder", "better", None),
    Case("This one is very better.", "comparative.very_with_comparative", "very", "much", None),
    Case("My phone is the same like yours.", "comparative.same_like", "like", "as", None),
    Case("My room is as big than yours.", "comparative.as_than", "than", "as", None),
    Case("My sister is elder than me.", "comparative.elder_than", "elder", "older", None),
    Case("I am agree with you.", "other.be_with_bare_verb", "am agree", "agree", None),
    Case(
        "I am not agree with you.",
        "other.be_not_with_bare_verb",
        "am not agree",
        "don't agree",
        None,
    ),
    Case("You must to finish it today.", "other.modal_to", "to", "", None),
    Case("My parents made me to study.", "other.make_let_to", "to", "", None),
    Case("I enjoy to swim in the sea.", "other.enjoy_to", "to swim", "swimming", None),
    Case("I want go home.", "other.want_without_to", "go", "to go", None),
    Case("I look forward to see you.", "other.look_forward_to_base", "see", "seeing", None),
    Case("I will can help you.", "other.modal_double", "will can", "will be able to", None),
    Case("I can able to swim.", "other.can_able", "able to", "", None),
    Case("Although it was late, but we stayed.", "other.although_but", "but", "", None),
    Case("I don't know nothing about it.", "other.double_negative", "nothing", "anything", None),
    Case("She said me the truth.", "other.said_me", "said", "told", None),
    Case("I have 20 years old.", "other.have_age", "have 20 years", "am 20 years", None),
    Case(
        "It is important for they to rest.", "other.subject_pronoun_as_object", "they", "them", None
    ),
    Case("My father he is a doctor.", "other.doubled_subject", "he", "", None),
    Case("Almost people like it.", "other.almost_for_most", "Almost", "Most", None),
    Case("Learn English is not easy.", "other.bare_verb_as_subject", "Learn", "Learning", None),
    Case(
        "Despite it was raining, we went out.", "other.despite_clause", "Despite", "Although", None
    ),
    Case(
        "It is easy for me understand it.",
        "other.for_someone_to",
        "understand",
        "to understand",
        None,
    ),
]

# Correct, varied English (including constructions that look like the errors above): none of
# these may be flagged, for any first language.
CLEAN = [
    "I live in a small flat near the city centre.",
    "My brother works as an engineer in a big company.",
    "She has lived here since 2015.",
    "We have known each other for ten years.",
    "Yesterday we went to the beach and swam for hours.",
    "Last summer I visited my grandparents in the countryside.",
    "In the future, I hope I will work abroad.",
    "If it rains tomorrow, we will stay at home.",
    "I usually go to school by bus, but today I walked.",
    "There are many parks in my town, and there is a big lake too.",
    "Most people prefer to travel by car.",
    "One of my friends is a doctor.",
    "Each student has a locker.",
    "Every day I read the news on my phone.",
    "I don't know anything about football.",
    "He doesn't like spicy food, and neither do I.",
    "What are you doing this weekend?",
    "Where do you usually spend your holidays?",
    "How many people live in your city?",
    "I really like listening to music when I study.",
    "I enjoy swimming and I look forward to seeing you.",
    "It depends on the weather.",
    "She is married to a teacher and they have two children.",
    "My sister is married with two kids.",
    "I am interested in history and good at maths.",
    "This book is much better than the film.",
    "It was the best day of my life.",
    "My room is as big as yours.",
    "The weather is getting warmer and warmer.",
    "If I were you, I would accept the offer.",
    "You and I are in the same class.",
    "I suggest that he go to the doctor.",
    "Let it go.",
    "Her parents made her study every evening.",
    "All you have to do is follow the instructions.",
    "The people they met were very friendly.",
    "Children need a lot of attention.",
    "Information is easy to find these days.",
    "I need some advice about my studies.",
    "We had a lot of fun at the party.",
    "It is important to get enough sleep.",
    "Although it was late, we stayed until midnight.",
    "Because it was raining, we took a taxi.",
    "I can't wait to see you.",
    "They have been waiting for the bus for an hour.",
    "He said that he would call me later.",
    "She told me the truth.",
    "Nobody knows the answer.",
    "Everyone is welcome.",
    "The number of cars has increased.",
    "A number of students were late.",
    "Two years is a long time.",
    "My favourite subject at school was physics.",
    "I went home early because I was tired.",
    "I am 20 years old.",
    "I have 20 years of experience in teaching.",
    "Honestly, an hour is not enough.",
    "She is a university student and an honest person.",
    "In my opinion, public transport should be free.",
    "On the other hand, cars give people freedom.",
    "At the end of the day, health is what matters.",
    "I have never been to Japan.",
    "When I was a child, I used to play outside every day.",
    "Playing sports helps children stay healthy.",
    "The man who lives next door is a pilot.",
    "People who exercise regularly are usually healthier.",
    "Whatever happens, I will support you.",
    "We discussed the problem with our teacher.",
    "He explained the rules to me.",
    "Could you tell me where the station is?",
    "I would like to go there again.",
    "She wants to become a nurse.",
    "They decided to move to Canada.",
    "Over there is the museum I told you about.",
    "Reading books is my favourite hobby.",
    "It makes me feel relaxed.",
    "Despite the rain, we went out.",
    "Because of it, we stayed at home.",
    "Learn English every day and you will improve.",
    "Make sure it is ready before you leave.",
    "i think it is a good idea",
    "so yeah i usually cook at home because it is cheaper",
]


def issues(text: str, first_language: str | None = None, **options: Any) -> list[GrammarIssue]:
    return find_grammar_issues(text, first_language=first_language, use_parser=False, **options)


def pattern_rule(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return next(rule for rule in rules if "pattern" in rule)


def raw_rules() -> dict[str, Any]:
    with RULES_PATH.open("rb") as handle:
        return tomllib.load(handle)


# --- the data file ----------------------------------------------------------------------------


def test_categories_are_those_of_grammar_issue() -> None:
    assert get_args(GrammarIssue.model_fields["category"].annotation) == get_args(Category)
    assert set(raw_rules()["categories"]["names"]) == CATEGORIES


def test_rule_ids_are_unique_and_categories_known() -> None:
    ids = [rule.id for rule in BOOK.rules]
    assert len(ids) == len(set(ids))
    assert {rule.category for rule in BOOK.rules} <= CATEGORIES
    for rule in BOOK.rules:
        assert rule.id.split(".")[0] in {
            "article",
            "agreement",
            "tense",
            "plural",
            "preposition",
            "word_order",
            "missing",
            "comparative",
            "other",
        }


def test_every_rule_has_a_one_line_explanation() -> None:
    for rule in BOOK.rules:
        assert rule.explanation.strip(), rule.id
        assert "\n" not in rule.explanation, rule.id
        assert len(rule.explanation) <= 120, rule.id
        assert rule.explanation[0].isupper() or rule.explanation[0] == "'", rule.id


def test_language_codes_are_known_and_the_required_ones_are_covered() -> None:
    for rule in BOOK.rules:
        assert rule.first_languages <= set(BOOK.languages), rule.id
    for code in REQUIRED_LANGUAGES:
        tagged = [rule.id for rule in BOOK.rules if code in rule.first_languages]
        assert len(tagged) >= 10, code


def test_every_matcher_named_in_the_data_exists_and_every_matcher_is_used() -> None:
    named = {rule.matcher for rule in BOOK.rules if rule.matcher}
    assert named == set(MATCHERS)


def test_every_rule_has_a_textbook_case() -> None:
    assert {case.rule_id for case in CASES} == {rule.id for rule in BOOK.rules}


def test_the_data_file_has_a_version() -> None:
    assert BOOK.version == raw_rules()["version"]
    assert grammar_errors.rule_book_version() == BOOK.version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rules: rules.append(dict(rules[0])), "duplicate rule id"),
        (lambda rules: rules[0].update(category="spelling"), "unknown category"),
        (lambda rules: rules[0].update(first_languages=["xx"]), "unknown language"),
        (lambda rules: rules[0].update(explanation=""), "explanation"),
        (
            lambda rules: pattern_rule(rules).update(pattern="[@no_such_class]"),
            "unknown word class",
        ),
        (lambda rules: pattern_rule(rules).update(pattern="[~nosuchverb]"), "unknown lemma"),
        (lambda rules: pattern_rule(rules).update(pattern="[a]", correction="$9"), "beyond the"),
        (lambda rules: pattern_rule(rules).update(pattern="[a"), "unbalanced span brackets"),
        (
            lambda rules: pattern_rule(rules).update(correction="$1:shout"),
            "unknown correction form",
        ),
        (lambda rules: rules[0].update(parser="maybe"), "parser"),
    ],
)
def test_a_broken_data_file_is_rejected(change: Any, message: str) -> None:
    data = raw_rules()
    change(data["rules"])
    with pytest.raises(RulesError, match=message):
        parse_rule_book(data)


# --- textbook cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.rule_id for case in CASES])
def test_rule_catches_its_textbook_case(case: Case) -> None:
    found = [
        issue for issue in issues(case.text, case.first_language) if issue.rule_id == case.rule_id
    ]
    assert found, f"{case.rule_id} missed: {case.text!r}"
    issue = found[0]
    assert issue.text == case.span
    assert case.text[issue.start : issue.end] == issue.text
    assert issue.correction == case.correction
    assert issue.category == BOOK.rule(case.rule_id).category
    assert issue.explanation == BOOK.rule(case.rule_id).explanation
    assert 0 < issue.confidence <= 1


@pytest.mark.parametrize("first_language", [None, *REQUIRED_LANGUAGES])
def test_correct_english_is_left_alone(first_language: str | None) -> None:
    flagged = {
        sentence: [(issue.rule_id, issue.text) for issue in issues(sentence, first_language)]
        for sentence in CLEAN
    }
    assert {sentence: found for sentence, found in flagged.items() if found} == {}


def test_clean_sentences_are_many_and_varied() -> None:
    assert len(CLEAN) >= 60
    assert len(set(CLEAN)) == len(CLEAN)


def test_a_whole_answer_gets_spans_into_the_original_text() -> None:
    text = "Yesterday I go to the market.\nShe very happy. Many people is there, and I have car."
    found = issues(text)
    assert [(issue.text, issue.correction) for issue in found] == [
        ("go", "went"),
        ("very", "is very"),
        ("is", "are"),
        ("car", "a car"),
    ]
    for issue in found:
        assert text[issue.start : issue.end] == issue.text
    starts = [issue.start for issue in found]
    assert starts == sorted(starts)


def test_applying_the_corrections_gives_correct_english() -> None:
    text = "He go to school and he have many friend."
    corrected = text
    for issue in reversed(issues(text)):
        corrected = corrected[: issue.start] + issue.correction + corrected[issue.end :]
    assert corrected == "He goes to school and he has many friends."


def test_issues_never_overlap() -> None:
    found = issues("I am not agree that this phone is more better than the my old one.")
    spans = sorted((issue.start, issue.end) for issue in found)
    assert all(first[1] <= second[0] for first, second in itertools.pairwise(spans))


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "...", "um uh", "12 34"])
def test_empty_or_wordless_input_gives_no_issues(text: str) -> None:
    assert issues(text) == []


def test_turn_id_is_copied_onto_each_issue() -> None:
    found = find_grammar_issues("He go home.", turn_id="turn-7", use_parser=False)
    assert [issue.turn_id for issue in found] == ["turn-7"]


def test_unpunctuated_lower_case_speech_is_checked() -> None:
    found = issues("so yesterday i go to the park and my friend want to play football")
    assert {(issue.text, issue.correction) for issue in found} >= {
        ("go", "went"),
        ("want", "wants"),
    }


# --- first languages --------------------------------------------------------------------------


def test_first_language_switches_on_a_medium_precision_rule() -> None:
    text = "They busy with work."
    assert issues(text) == []
    found = issues(text, "ru")
    assert [(issue.rule_id, issue.first_language_pattern) for issue in found] == [
        ("missing.copula_pronoun_adjective", "ru")
    ]
    assert issues(text, "es") == []  # Spanish has a copula: not a typical Spanish error


def test_first_language_raises_confidence_and_tags_the_issue() -> None:
    plain = issues("I have 20 years.")
    spanish = issues("I have 20 years.", "es")
    chinese = issues("I have 20 years.", "zh")
    assert plain[0].first_language_pattern is None
    assert spanish[0].first_language_pattern == "es"
    assert spanish[0].confidence > plain[0].confidence
    assert chinese[0].confidence == plain[0].confidence
    assert chinese[0].first_language_pattern is None


@pytest.mark.parametrize("code", ["RU", "ru-RU", "ru_RU"])
def test_first_language_codes_are_normalised(code: str) -> None:
    assert issues("They busy with work.", code)[0].first_language_pattern == "ru"


def test_unknown_first_language_is_ignored() -> None:
    assert issues("They busy with work.", "tlh") == []


def test_min_confidence_sets_the_report_threshold() -> None:
    assert issues("They busy with work.", min_confidence=0.5)
    assert issues("He go home.", min_confidence=0.99) == []


# --- the optional parser ----------------------------------------------------------------------


def test_parser_lifts_a_candidate_just_below_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = {"They busy with work.": False, "They are busy with work.": True}
    monkeypatch.setattr(grammar_errors._PARSER, "accepts", verdicts.get)
    found = find_grammar_issues("They busy with work.")
    assert [issue.rule_id for issue in found] == ["missing.copula_pronoun_adjective"]
    assert found[0].confidence == pytest.approx(0.55 + BOOK.thresholds.parser_boost)


def test_parser_that_accepts_the_original_lifts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grammar_errors._PARSER, "accepts", lambda text: True)
    assert find_grammar_issues("They busy with work.") == []
    # A confident rule does not depend on the parser at all.
    assert [issue.correction for issue in find_grammar_issues("He go home.")] == ["goes"]


def test_parser_is_not_asked_when_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(text: str) -> bool:
        raise AssertionError("parser called")

    monkeypatch.setattr(grammar_errors._PARSER, "accepts", fail)
    assert find_grammar_issues("They busy with work.", use_parser=False) == []


def test_parser_status_is_reported() -> None:
    assert grammar_errors.parser_status() in {"link-grammar", "unavailable"}


# --- building blocks --------------------------------------------------------------------------


def test_tokens_keep_offsets_and_contractions() -> None:
    text = "I don’t know, it's 3,000 km.\nNew line"
    tokens = tokenize(text)
    assert [token.text for token in tokens] == [
        "I",
        "don’t",
        "know",
        ",",
        "it's",
        "3,000",
        "km",
        ".",
        "New",
        "line",
    ]
    assert all(text[token.start : token.end] == token.text for token in tokens)
    assert tokens[1].lower == "don't"
    assert [len(sentence) for sentence in split_sentences(tokens, text)] == [8, 2]


@pytest.mark.parametrize(
    ("function", "word", "expected"),
    [
        (third_person, "go", "goes"),
        (third_person, "study", "studies"),
        (third_person, "play", "plays"),
        (third_person, "watch", "watches"),
        (regular_past, "stop", "stopped"),
        (regular_past, "prefer", "preferred"),
        (regular_past, "visit", "visited"),
        (regular_past, "study", "studied"),
        (regular_plural, "city", "cities"),
        (regular_plural, "box", "boxes"),
        (regular_plural, "day", "days"),
    ],
)
def test_regular_inflections(function: Any, word: str, expected: str) -> None:
    assert function(word) == expected


@pytest.mark.parametrize(
    ("word", "form", "expected"),
    [
        ("went", "base", "go"),
        ("go", "pp", "gone"),
        ("child", "plural", "children"),
        ("people", "singular", "person"),
        ("big", "comparative", "bigger"),
        ("easy", "superlative", "easiest"),
        ("they", "object", "them"),
        ("she", "be", "is"),
        ("I", "be", "am"),
    ],
)
def test_inflect(word: str, form: str, expected: str) -> None:
    assert inflect(word, form, BOOK.lexicon) == expected


@pytest.mark.parametrize(
    ("word", "vowel"),
    [
        ("apple", True),
        ("hour", True),
        ("honest", True),
        ("university", False),
        ("one", False),
        ("European", False),
        ("umbrella", True),
        ("unimportant", True),
        ("car", False),
    ],
)
def test_vowel_sound(word: str, vowel: bool) -> None:
    assert starts_with_vowel_sound(word, BOOK.lexicon) is vowel
