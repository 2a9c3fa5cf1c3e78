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
from dataclasses import dataclass
from pathlib import Path

from wordfreq import zipf_frequency

from shared.assessment import grammar_errors
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jfleg", type=Path, default=DEFAULT_JFLEG)
    parser.add_argument("--half", choices=["all", "tune", "test"], default="all")
    parser.add_argument("--first-language", default=None)
    parser.add_argument("--no-parser", action="store_true", help="do not use link-grammar")
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

    sentences = read_m2(args.jfleg / "dev.ref.m2")
    middle = len(sentences) // 2
    if args.half == "tune":
        sentences = sentences[:middle]
    elif args.half == "test":
        sentences = sentences[middle:]
    dictionary = Dictionary()
    options: dict[str, object] = {"first_language": args.first_language}
    if args.no_parser:
        options["use_parser"] = False
    if args.min_confidence is not None:
        options["min_confidence"] = args.min_confidence

    started = time.perf_counter()
    grammar_errors.find_grammar_issues("Warm up.", **options)  # type: ignore[arg-type]
    load_seconds = time.perf_counter() - started
    tp = fp = fn = 0
    words = edited_words = 0
    per_rule: dict[str, Counter[str]] = defaultdict(Counter)
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    false_positives: list[tuple[str, str, str]] = []
    hits: list[tuple[str, str, str]] = []
    elapsed = 0.0
    for sentence in sentences:
        text, spans = detokenize(sentence.tokens)
        edited, excluded = gold_tokens(sentence, dictionary, args.count_punctuation)
        started = time.perf_counter()
        issues = grammar_errors.find_grammar_issues(text, **options)  # type: ignore[arg-type]
        elapsed += time.perf_counter() - started
        flagged = flagged_tokens(issues, spans)
        for index in range(len(sentence.tokens)):
            if index in excluded:
                continue
            words += 1
            edited_words += index in edited
        for issue in issues:
            tokens = [
                i
                for i, rule in flagged.items()
                if rule == issue.rule_id and spans[i][0] < issue.end and issue.start < spans[i][1]
            ]
            tokens = [i for i in tokens if i not in excluded]
            good = sum(i in edited for i in tokens)
            per_rule[issue.rule_id]["tp"] += good
            per_rule[issue.rule_id]["fp"] += len(tokens) - good
            per_category[issue.category]["tp"] += good
            per_category[issue.category]["fp"] += len(tokens) - good
            record = (issue.rule_id, f"{issue.text!r} -> {issue.correction!r}", text)
            (hits if good == len(tokens) else false_positives).append(record)
        flagged_kept = set(flagged) - excluded
        tp += len(flagged_kept & edited)
        fp += len(flagged_kept - edited)
        fn += len(edited - flagged_kept)

    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    beta2 = 0.25
    f05 = (1 + beta2) * precision * recall / (beta2 * precision + recall) if tp else 0.0
    print(
        f"JFLEG dev ({args.half}): {len(sentences)} sentences, {words} tokens evaluated, "
        f"{edited_words} edited ({edited_words / words:.3f} = precision of flagging all)"
    )
    print(
        f"spelling dictionary: {dictionary.source}; punctuation edits "
        f"{'counted' if args.count_punctuation else 'ignored'}; first language "
        f"{args.first_language or '-'}; parser "
        f"{'off' if args.no_parser else grammar_errors.parser_status()}"
    )
    print(f"flagged tokens: tp {tp}  fp {fp}  fn {fn}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  F0.5 {f05:.3f}")
    print(
        f"time {1000 * elapsed / len(sentences):.2f} ms a sentence "
        f"(first call, loading the rules and word lists: {load_seconds:.2f} s)"
    )
    print("\nper category (token precision):")
    for category, counts in sorted(per_category.items()):
        total = counts["tp"] + counts["fp"]
        print(
            f"  {category:26} {counts['tp'] / total if total else 0:.2f}  ({counts['tp']}/{total})"
        )
    print("\nper rule (token precision):")
    for rule, counts in sorted(per_rule.items(), key=lambda item: -sum(item[1].values())):
        total = counts["tp"] + counts["fp"]
        print(f"  {rule:44} {counts['tp'] / total if total else 0:.2f}  ({counts['tp']}/{total})")
    print(f"\nfalse positives (first {args.top}):")
    for rule, change, text in false_positives[: args.top]:
        print(f"  {rule}: {change}\n      {text}")
    if args.references:
        flag_references(args.jfleg, args.half, middle, options)
    if args.show_hits:
        print("\ntrue positives:")
        for rule, change, text in hits:
            print(f"  {rule}: {change}\n      {text}")


if __name__ == "__main__":
    main()
