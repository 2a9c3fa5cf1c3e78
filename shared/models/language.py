"""What the language-model port takes and returns, independent of the provider."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class QuotedText(BaseModel):
    """Learner words given to a model as data, never as instructions."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(description="What the text is, e.g. 'answer to Part 3 question 2'.")
    text: str


class GenerationRequest(BaseModel):
    """One call to a language model."""

    model_config = ConfigDict(frozen=True)

    template_id: str = Field(description="Versioned prompt template, e.g. 'part3_followup@2'.")
    template_hash: str = Field(description="Content hash of the template actually used.")
    instructions: str = Field(description="The brief: what to do and the rules to follow.")
    quoted: list[QuotedText] = Field(default_factory=list)
    response_schema: dict[str, object] | None = Field(
        default=None, description="JSON schema the answer must follow (structured output)."
    )
    temperature: float = Field(default=0.4, ge=0, le=2)
    max_output_tokens: int = Field(default=1024, ge=1, le=65536)


class Generation(BaseModel):
    """A language model's answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
