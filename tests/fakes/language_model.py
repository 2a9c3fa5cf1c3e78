"""An in-memory LanguageModel for unit tests: records requests, answers from a script.

    model = ScriptedLanguageModel('{"question": "Why is that?"}', DependencyUnavailable())
    model.generate(request)  # -> Generation(text='{"question": "Why is that?"}', ...)
    model.generate(request)  # raises DependencyUnavailable

Each scripted item is answered once, in order: a string becomes ``Generation.text``, a
``Generation`` is returned as it is, an exception is raised. With the script used up it
answers ``default`` (a string), or raises AssertionError when there is none, so a test sees
an unexpected call.
"""

from __future__ import annotations

from collections import deque

from shared.models.language import Generation, GenerationRequest

FAKE_MODEL = "fake-model-001"


class ScriptedLanguageModel:
    def __init__(self, *script: str | Generation | Exception, default: str | None = None) -> None:
        self._script: deque[str | Generation | Exception] = deque(script)
        self._default = default
        self.requests: list[GenerationRequest] = []

    def answer_next(self, *script: str | Generation | Exception) -> None:
        self._script.extend(script)

    def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        if self._script:
            item = self._script.popleft()
        elif self._default is not None:
            item = self._default
        else:
            raise AssertionError("the language model was called more often than scripted")
        if isinstance(item, Exception):
            raise item
        if isinstance(item, Generation):
            return item
        return Generation(
            text=item,
            model=FAKE_MODEL,
            input_tokens=len(request.instructions.split()),
            output_tokens=len(item.split()),
        )
