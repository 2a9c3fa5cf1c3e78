"""Grammar error detection, measured on JFLEG dev (never asserted in tests).

    .venv/bin/python -m bench.grammar_eval [--jfleg DIR] [--half all|tune|test]
        [--first-language xx] [--no-parser] [--min-confidence C] [--count-punctuation]
        [--top N] [--show-hits] [--references]

Token-level detection against the four annotators' edits in ``dev.ref.m2``:

- Gold: a source token is *edited* when any annotator's edit covers it. An insertion
  (``start == end``) marks the token at ``start``, the word the missing words go before (the
  last token when the gap is at the end), because that is the word our spans attach a
  missing article or subject to ("I have car" -> the span "car" becomes "a car").
- Spelling-only edits are left out of both sides: their tokens are removed from the
  evaluation unless another annotator edited the same token for another reason. An edit is
  spelling-only when its tokens differ from the correction only in case, apostrophes,
  hyphens or spaces ("dont" -> "do n't"), or when it replaces non-words by similar words
  ("siences" -> "sciences"). A non-word that is a real word plus a wrong inflection
  ("knowledges", "choosed", "childs") is a grammar error, not a spelling one, and stays in.
  Note this file's labels: ``#Ins#`` marks a deletion and
  ``#Del#`` an insertion; ``#Rc#`` is a character-level replacement (mostly spelling, but
  also real words such as "live" -> "alive", which stay in), ``#Ri#`` inflection, ``#Rs#``
  and ``#Rp#`` word choice and paraphrase.
- Edits that only add, drop or change punctuation are ignored (transcripts of speech carry no
  punctuation of the learner's own); ``--count-punctuation`` keeps them.
- Flagged: every token a detected issue's character span overlaps, after our detector has
  read the sentence detokenised ("do n't" -> "don't", no space before punctuation).

``--references`` also runs the checker on the four corrected versions of each sentence and
counts what it flags there (a proxy for false alarms on fluent text).

``--half tune`` is the first half of the sentences (used while writing the rules), ``--half
test`` the second half (held out, for reporting).
"""

from __future__ import annotations

import argparse
import difflib
import string
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wordfreq import zipf_frequency

from shared.assessment import grammar_detector, grammar_errors
from shared.models.assessment import GrammarIssue

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JFLEG = REPO.parent / "shared" / "data" / "jfleg-dev"
# Link-grammar's word lists hold inflected forms ("sciences", "developed"); wordfreq covers
# the closed-class words they leave out. Used only to tell spelling edits apart.
LINK_GRAMMAR_WORDS = Path("/usr/share/link-grammar/en/words")
_NO_SPACE_BEFORE = {
    ".",
    ",",
    "!",
    "?",
    ";",
    ":",
    ")",
    "]",
    "}",
    "%",
    "''",
    "n't",
    "'s",
    "'re",
    "'ve",
    "'ll",
    "'d",
    "'m",
    "'",
}
_NO_SPACE_AFTER = {"(", "[", "{", "``", "$"}
DETECTOR_RULE = "detector.check_phrase"


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    kind: str
    correction: str
    annotator: str


@dataclass(frozen=True)
class M2Sentence:
    tokens: tuple[str, ...]
    edits: tuple[Edit, ...]


def read_m2(path: Path) -> list[M2Sentence]:
    sentences = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        lines = block.splitlines()
        tokens = tuple(lines[0][2:].split())
        edits = []
        for line in lines[1:]:
            fields = line[2:].split("|||")
            start, end = (int(value) for value in fields[0].split())
            if start < 0:
                continue
            edits.append(Edit(start, end, fields[1], fields[2], fields[-1]))
        sentences.append(M2Sentence(tokens, tuple(edits)))
    return sentences


def detokenize(tokens: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    """The sentence as a person would type it, with each M2 token's character span."""
    text = ""
    spans = []
    previous = ""
    for token in tokens:
        shown = {"``": '"', "''": '"', "-LRB-": "(", "-RRB-": ")"}.get(token, token)
        glue = not text or token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER
        if not glue:
            text += " "
        spans.append((len(text), len(text) + len(shown)))
        text += shown
        previous = token
    return text, spans


class Dictionary:
    def __init__(self) -> None:
        self.words: set[str] = set()
        if LINK_GRAMMAR_WORDS.is_dir():
            for path in LINK_GRAMMAR_WORDS.iterdir():
                for entry in path.read_text(encoding="utf-8", errors="ignore").split():
                    self.words.add(entry.split(".")[0].lower())
        self.source = "link-grammar word lists + wordfreq" if self.words else "wordfreq only"

    def known(self, word: str) -> bool:
        lowered = word.lower()
        return lowered in self.words or zipf_frequency(lowered, "en") >= 4.0


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _is_punctuation(text: str) -> bool:
    return all(ch in string.punctuation or ch.isspace() for ch in text)


def is_spelling_only(source: list[str], correction: str, dictionary: Dictionary) -> bool:
    target = correction.split()
    if not source or not target:
        return False
    if _squash(" ".join(source)) == _squash(correction):
        return True  # case, apostrophe, hyphen or space only
    if len(source) != len(target):
        return False
    changed = [(s, t) for s, t in zip(source, target, strict=True) if s.lower() != t.lower()]
    return all(
        not dictionary.known(s)
        and not is_overregularised(s, dictionary)
        and difflib.SequenceMatcher(None, s.lower(), t.lower()).ratio() >= 0.7
        for s, t in changed
    )


def is_overregularised(word: str, dictionary: Dictionary) -> bool:
    """A real word with a wrong inflection ("knowledges", "choosed", "childs"): grammar."""
    lowered = word.lower()
    for suffix in ("es", "s", "ed", "d"):
        stem = lowered[: -len(suffix)]
        if lowered.endswith(suffix) and len(stem) >= 3 and dictionary.known(stem):
            return True
    return False


def gold_tokens(
    sentence: M2Sentence, dictionary: Dictionary, count_punctuation: bool
) -> tuple[set[int], set[int]]:
    """(edited, excluded) token indexes of one sentence."""
    edited: set[int] = set()
    spelling: set[int] = set()
    last = len(sentence.tokens) - 1
    for edit in sentence.edits:
        source = list(sentence.tokens[edit.start : edit.end])
        if not count_punctuation and _is_punctuation(" ".join(source) + edit.correction):
            continue
        if edit.start == edit.end:
            covered = {min(edit.start, last)}
        else:
            covered = set(range(edit.start, edit.end))
        if is_spelling_only(source, edit.correction, dictionary):
            spelling |= covered
        else:
            edited |= covered
    edited &= set(range(len(sentence.tokens)))
    return edited, spelling - edited


def flagged_tokens(issues: list[GrammarIssue], spans: list[tuple[int, int]]) -> dict[int, str]:
    flagged: dict[int, str] = {}
    for issue in issues:
        for index, (start, end) in enumerate(spans):
            if start < issue.end and issue.start < end:
                flagged.setdefault(index, issue.rule_id)
    return flagged


def flag_references(folder: Path, half: str, middle: int, options: dict[str, object]) -> None:
    """Issues flagged in the annotators' corrected sentences: mostly false alarms, though
    fluency references keep some errors of their own."""
    counts: Counter[str] = Counter()
    sentences = 0
    for name in ("dev.ref0", "dev.ref1", "dev.ref2", "dev.ref3"):
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        if half == "tune":
            lines = lines[:middle]
        elif half == "test":
            lines = lines[middle:]
        for line in lines:
            text, _ = detokenize(line.split())
            sentences += 1
            for issue in grammar_errors.find_grammar_issues(text, **options):  # type: ignore[arg-type]
                counts[issue.rule_id] += 1
    total = sum(counts.values())
    print(
        f"\ncorrected references: {total} issues in {sentences} sentences "
        f"({100 * total / sentences:.1f} per 100)"
    )
    for rule, count in counts.most_common(10):
        print(f"  {rule:44} {count}")


@dataclass
class Evaluation:
    """Token counts of one run over some sentences."""

    sentences: int = 0
    words: int = 0
    edited_words: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    rule_seconds: float = 0.0
    detector_seconds: float = 0.0
    detector_words: int = 0
    per_rule: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)
    hits: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f05(self) -> float:
        p, r = self.precision, self.recall
        return 1.25 * p * r / (0.25 * p + r) if p and r else 0.0

    def line(self) -> str:
        return (
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  F0.5 {self.f05:.3f}  "
            f"(tp {self.tp} fp {self.fp} fn {self.fn})"
        )


def _count(
    evaluation: Evaluation,
    rule_id: str,
    category: str,
    tokens: list[int],
    edited: set[int],
    record: tuple[str, str, str],
) -> None:
    good = sum(i in edited for i in tokens)
    evaluation.per_rule[rule_id]["tp"] += good
    evaluation.per_rule[rule_id]["fp"] += len(tokens) - good
    evaluation.per_category[category]["tp"] += good
    evaluation.per_category[category]["fp"] += len(tokens) - good
    (evaluation.hits if good == len(tokens) else evaluation.false_positives).append(record)


def evaluate(
    sentences: list[M2Sentence],
    dictionary: Dictionary,
    options: dict[str, object],
    count_punctuation: bool,
    detector: bool,
) -> Evaluation:
    """Rule errors (and, with ``detector``, the detector's phrases) against the gold."""
    evaluation = Evaluation(sentences=len(sentences))
    for sentence in sentences:
        text, spans = detokenize(sentence.tokens)
        edited, excluded = gold_tokens(sentence, dictionary, count_punctuation)
        started = time.perf_counter()
        issues = grammar_errors.find_grammar_issues(text, **options)  # type: ignore[arg-type]
        evaluation.rule_seconds += time.perf_counter() - started
        flagged = flagged_tokens(issues, spans)
        for index in range(len(sentence.tokens)):
            if index in excluded:
                continue
            evaluation.words += 1
            evaluation.edited_words += index in edited
        for issue in issues:
            tokens = [
                i
                for i, rule in flagged.items()
                if rule == issue.rule_id and spans[i][0] < issue.end and issue.start < spans[i][1]
            ]
            tokens = [i for i in tokens if i not in excluded]
            record = (issue.rule_id, f"{issue.text!r} -> {issue.correction!r}", text)
            _count(evaluation, issue.rule_id, issue.category, tokens, edited, record)
        if detector:
            started = time.perf_counter()
            checks = grammar_detector.check_phrases(text, reported=issues)
            evaluation.detector_seconds += time.perf_counter() - started
            evaluation.detector_words += len(text.split())
            for check in checks:
                tokens = [
                    i
                    for i, (start, end) in enumerate(spans)
                    if start < check.end and check.start < end and i not in flagged
                ]
                for i in tokens:
                    flagged[i] = DETECTOR_RULE
                tokens = [i for i in tokens if i not in excluded]
                record = (DETECTOR_RULE, f"{check.text!r} ({check.confidence:.2f})", text)
                _count(evaluation, DETECTOR_RULE, "detector (tentative)", tokens, edited, record)
        flagged_kept = set(flagged) - excluded
        evaluation.tp += len(flagged_kept & edited)
        evaluation.fp += len(flagged_kept - edited)
        evaluation.fn += len(edited - flagged_kept)
    return evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jfleg", type=Path, default=DEFAULT_JFLEG)
    parser.add_argument(
        "--half", choices=["all", "tune", "test"], default="test", help="the detailed report"
    )
    parser.add_argument("--first-language", default=None)
    parser.add_argument("--no-parser", action="store_true", help="do not use link-grammar")
    parser.add_argument("--no-detector", action="store_true", help="rules only")
    parser.add_argument(
        "--min-confidence", type=float, default=None, help="report threshold (default: data file)"
    )
    parser.add_argument("--count-punctuation", action="store_true")
    parser.add_argument("--top", type=int, default=25, help="false positives to list")
    parser.add_argument("--show-hits", action="store_true", help="list true positives too")
    parser.add_argument(
        "--references",
        action="store_true",
        help="also count issues flagged in the four corrected versions (dev.ref0-3)",
    )
    args = parser.parse_args()

    everything = read_m2(args.jfleg / "dev.ref.m2")
    middle = len(everything) // 2
    halves = {"tune": everything[:middle], "test": everything[middle:], "all": everything}
    dictionary = Dictionary()
    options: dict[str, object] = {"first_language": args.first_language}
    if args.no_parser:
        options["use_parser"] = False
    if args.min_confidence is not None:
        options["min_confidence"] = args.min_confidence
    detector = not args.no_detector and grammar_detector.available()

    started = time.perf_counter()
    grammar_errors.find_grammar_issues("Warm up.", **options)  # type: ignore[arg-type]
    if detector:
        grammar_detector.check_phrases("Warm up.")
    load_seconds = time.perf_counter() - started

    print(
        f"spelling dictionary: {dictionary.source}; punctuation edits "
        f"{'counted' if args.count_punctuation else 'ignored'}; first language "
        f"{args.first_language or '-'}; parser "
        f"{'off' if args.no_parser else grammar_errors.parser_status()}"
    )
    if detector:
        threshold = grammar_detector.load_detector().threshold
        print(
            f"operating point: rule errors at confidence >= their report threshold, plus "
            f"detector words at probability >= {threshold:.2f} "
            f"({grammar_detector.detector_version()}, fitted on half A)"
        )
    else:
        print("detector: off" + ("" if args.no_detector else " (no language model)"))
    print("\nsummary (token level, spelling-only edits left out of both sides):")
    results: dict[str, Evaluation] = {}
    for half, label in (("tune", "half A (fitting half)"), ("test", "half B (held out)")):
        rules = evaluate(halves[half], dictionary, options, args.count_punctuation, False)
        print(f"  {label:22} rules only         {rules.line()}")
        if detector:
            both = evaluate(halves[half], dictionary, options, args.count_punctuation, True)
            print(f"  {label:22} rules + detector   {both.line()}")
            results[half] = both
        else:
            results[half] = rules

    result = (
        results[args.half]
        if args.half in results
        else evaluate(halves["all"], dictionary, options, args.count_punctuation, detector)
    )
    print(
        f"\nJFLEG dev ({args.half}): {result.sentences} sentences, {result.words} tokens "
        f"evaluated, {result.edited_words} edited "
        f"({result.edited_words / result.words:.3f} = precision of flagging all)"
    )
    print(f"flagged tokens: tp {result.tp}  fp {result.fp}  fn {result.fn}")
    print(f"precision {result.precision:.3f}  recall {result.recall:.3f}  F0.5 {result.f05:.3f}")
    print(
        f"rules: {1000 * result.rule_seconds / result.sentences:.2f} ms a sentence "
        f"(first call, loading the rules, word lists and weights: {load_seconds:.2f} s)"
    )
    if result.detector_words:
        print(
            f"detector: {1e6 * result.detector_seconds / result.detector_words:.0f} ms per "
            f"1,000 words (it runs the rules again at every confidence as features)"
        )
    print("\nper category (token precision):")
    for category, counts in sorted(result.per_category.items()):
        total = counts["tp"] + counts["fp"]
        print(
            f"  {category:26} {counts['tp'] / total if total else 0:.2f}  ({counts['tp']}/{total})"
        )
    print("\nper rule (token precision):")
    for rule, counts in sorted(result.per_rule.items(), key=lambda item: -sum(item[1].values())):
        total = counts["tp"] + counts["fp"]
        print(f"  {rule:44} {counts['tp'] / total if total else 0:.2f}  ({counts['tp']}/{total})")
    print(f"\nfalse positives (first {args.top}):")
    for rule, change, text in result.false_positives[: args.top]:
        print(f"  {rule}: {change}\n      {text}")
    if args.references:
        flag_references(args.jfleg, args.half, middle, options)
    if args.show_hits:
        print("\ntrue positives:")
        for rule, change, text in result.hits:
            print(f"  {rule}: {change}\n      {text}")


if __name__ == "__main__":
    main()
