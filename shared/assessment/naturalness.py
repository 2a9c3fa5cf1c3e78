"""How natural the word sequences are: an English trigram language model's view of the text.

For each word with one or two known words before it, the gain ``log10 P(word | previous
words) - log10 P(word)``: positive when the previous words make it expected ("make a
*decision*", "people *are*"), negative when English rarely puts it there ("people *is*",
"he *have*", "do a *mistake*"). Two metrics, both over the whole text:

- ``lm_naturalness``: the mean gain;
- ``lm_odd_share``: the share of words whose gain is below -1 (ten times less likely than on
  their own).

``sentence_break_odds`` asks the same model another question: between two stretches of
words with no punctuation (a transcript), is a sentence more likely to end and another to
begin than the words to run on? (The "hidden event" reading of an n-gram model used to
segment speech into sentences.)

On ELLIPSE essays the mean gain alone correlates at about 0.6 with the human Grammar score and
0.45 with Vocabulary: it sees agreement, article, preposition and collocation slips that no
short rule list covers. It is a measure for calibration only, never shown to the learner as
an error: a rare but correct phrase can score low too.

The model is pocketsphinx's US English language model (CMU, BSD licence), loaded lazily from
the installed ``pocketsphinx`` package (about 0.1 s, memory-mapped). When pocketsphinx is not
installed the metrics are absent and ``text_scoring`` uses its models without them.

A caveat for transcripts: a recogniser picks word sequences its own language model likes, so
recognised speech looks more natural than what was said (pocketsphinx's own transcripts most
of all, since this is its model). Expect the feature to under-penalise spoken slips.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from shared.assessment.text import Passage

ODD_GAIN: Final = -1.0  # log10: ten times less likely after its context than on its own
HISTORY: Final = 2  # trigram model: up to two previous words
# pocketsphinx scores in integer log base 1.0001; this turns them into log10.
_LOG10_PER_UNIT: Final = math.log10(1.0001)
_UNKNOWN_BELOW: Final = -100_000_000  # pocketsphinx's "log zero" for words it does not know

_lock = threading.Lock()


@functools.cache
def _model() -> Any | None:
    # Imported here: pocketsphinx is optional (the local stack has it, the deployed functions
    # may not) and loading even a memory-mapped model is work a cold start should not do.
    try:
        import pocketsphinx
    except ModuleNotFoundError:
        return None
    path = Path(pocketsphinx.get_model_path()) / "en-us" / "en-us.lm.bin"
    if not path.is_file():
        return None
    config = pocketsphinx.Config(lm=None, hmm=None, dict=None, loglevel="FATAL")
    logmath = pocketsphinx.LogMath()
    model = pocketsphinx.NGramModel(config, logmath, str(path))
    # The model keeps pointers into both: they must live as long as it does.
    return model, config, logmath


def available() -> bool:
    return _model() is not None


def model_version() -> str | None:
    """The package that provides the model (the calibration depends on it)."""
    if _model() is None:
        return None
    from importlib.metadata import version

    return f"pocketsphinx {version('pocketsphinx')} en-us.lm.bin"


def _gains(words: Sequence[str], model: Any) -> list[float]:
    gains: list[float] = []
    history: list[str] = []
    for word in words:
        alone = model.prob([word])
        if alone < _UNKNOWN_BELOW:
            history = []  # an unknown word (a name, a misspelling) breaks the chain
            continue
        if history:
            context = history[: -HISTORY - 1 : -1]  # most recent first, as pocketsphinx wants
            gains.append((model.prob([word, *context]) - alone) * _LOG10_PER_UNIT)
        history.append(word)
    return gains


def sentence_break_odds(before: Sequence[str], after: Sequence[str]) -> float | None:
    """log10 of how much likelier a sentence break is between ``before`` and ``after``
    (lower-case words; the last two and the first two count) than the words running on:
    P(end | before) P(after | start) / P(after | before). None without the model, or when a
    word either side of the gap is one it does not know."""
    loaded = _model()
    if loaded is None or not before or not after:
        return None
    model = loaded[0]
    left, right = list(before[-HISTORY:]), list(after[:HISTORY])

    def logprob(word: str, history: Sequence[str]) -> float:
        context = list(history[-HISTORY:])[::-1]  # most recent first, as pocketsphinx wants
        return float(model.prob([word, *context])) * _LOG10_PER_UNIT

    with _lock:  # one model shared by the request threads of an instance
        if any(model.prob([word]) < _UNKNOWN_BELOW for word in (left[-1], right[0])):
            return None
        # A word it does not know further out is left out of the history.
        left = [w for w in left if model.prob([w]) >= _UNKNOWN_BELOW]
        right = right[:1] + [w for w in right[1:] if model.prob([w]) >= _UNKNOWN_BELOW]
        broken = logprob("</s>", left) + sum(
            logprob(word, ["<s>", *right[:k]]) for k, word in enumerate(right)
        )
        joined = sum(logprob(word, [*left, *right[:k]]) for k, word in enumerate(right))
    return broken - joined


def naturalness(parts: Sequence[Passage]) -> dict[str, float]:
    """``lm_naturalness`` and ``lm_odd_share`` over every sentence; {} without the model or
    without a single word pair the model knows."""
    loaded = _model()
    if loaded is None:
        return {}
    model = loaded[0]
    gains: list[float] = []
    with _lock:  # one model shared by the request threads of an instance
        for part in parts:
            for sentence in part.sentences:
                gains += _gains(sentence.norms, model)
    if not gains:
        return {}
    return {
        "lm_naturalness": sum(gains) / len(gains),
        "lm_odd_share": sum(1 for gain in gains if gain < ODD_GAIN) / len(gains),
    }
