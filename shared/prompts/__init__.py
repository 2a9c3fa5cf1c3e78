"""Versioned prompt templates for the language model, and how learner text is quoted to it.

- ``templates``: the briefs (``*.toml`` files beside this module), loaded and validated once
  per instance, each with an id, a version and a sha256 content hash that is stored with every
  generation so a question or a judgement can be traced to the exact wording used.
- ``quoting``: the one way learner words reach a model: inside ``<learner_answer>`` delimiters,
  escaped so that nothing a learner says can close the delimiter.

Importing this package is cheap (standard library only): no model client is loaded.
"""

from __future__ import annotations

from shared.prompts.quoting import LEARNER_TAG, quote_learner_text
from shared.prompts.templates import (
    PromptTemplate,
    PromptTemplateError,
    load_template,
    load_templates,
)

__all__ = [
    "LEARNER_TAG",
    "PromptTemplate",
    "PromptTemplateError",
    "load_template",
    "load_templates",
    "quote_learner_text",
]
