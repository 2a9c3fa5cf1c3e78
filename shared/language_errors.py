"""What a language model can fail with besides not answering (``DependencyUnavailable``).

``NoModelAnswer``: the model answered, but with nothing usable: the candidate was blocked
(safety, recitation, a block list), the prompt itself was blocked, the answer was cut off at
the token limit while structured output was asked for, or it was empty or unreadable. It is
not retried (the same request would most likely meet the same fate); callers treat it as
"no answer" and fall back (the deterministic follow-up generator, or no judgement).
"""

from __future__ import annotations

from shared.errors import InternalError

__all__ = ["NoModelAnswer"]


class NoModelAnswer(InternalError):
    """The model's answer holds no usable text; ``details["reason"]`` says why."""

    code = "model_no_answer"
    default_message = "The language model gave no usable answer."
