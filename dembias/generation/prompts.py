"""Versioned prompt templates for the generation tasks (summary, reformulation, translation).

A template is never edited once outputs were made with it: a changed wording gets a new id
(``reformulation-v2``), so every stored output names the exact prompt that produced it. Placeholders
are ``str.format`` fields: ``{text}`` (a contribution), ``{language}`` (a target language name),
``{topic}`` (the debate's title or question), ``{contributions}`` (lines ``[id] text``) and
``{summaries}`` (partial summaries, for the reduce step of a long debate).
"""

from __future__ import annotations

from dataclasses import dataclass

from dembias.errors import DembiasError


@dataclass(frozen=True)
class PromptTemplate:
    """One versioned prompt: an optional system message and a user message with placeholders."""

    prompt_id: str
    task: str
    user: str
    system: str | None = None

    def messages(self, **fields: str) -> list[dict[str, str]]:
        """Chat messages with the placeholders filled."""
        messages = []
        if self.system:
            messages.append({"role": "system", "content": self.system.format(**fields)})
        messages.append({"role": "user", "content": self.user.format(**fields)})
        return messages

    def template_text(self) -> str:
        """The template as stored with each output (system and user parts, placeholders kept)."""
        if self.system:
            return f"[system]\n{self.system}\n[user]\n{self.user}"
        return self.user


_TEMPLATES = (
    PromptTemplate(
        prompt_id="reformulation-v1",
        task="reformulation",
        user=(
            "Rewrite the following contribution to a public debate so that it is clearer and easier to read. "
            "Keep exactly the same meaning and the same stance. Reply with the rewritten contribution only.\n\n"
            "Contribution: {text}"
        ),
    ),
    PromptTemplate(
        prompt_id="translation-v1",
        task="translation",
        user=(
            "Translate the following contribution to a public debate into {language}. Keep the meaning, the "
            "stance and the tone exactly. Reply with the translation only.\n\n"
            "Contribution: {text}"
        ),
    ),
    PromptTemplate(
        prompt_id="summary-v1",
        task="summary",
        user=(
            "Below are contributions to a public debate about: {topic}\n"
            "Each line starts with the contribution's id in brackets.\n\n"
            "{contributions}\n\n"
            "Write a short summary of the opinions expressed, including minority opinions. End every sentence "
            "with the ids of the contributions it summarizes, in brackets, like [12] or [12, 40]."
        ),
    ),
    PromptTemplate(
        prompt_id="summary-v2",
        task="summary",
        system="You summarize public debates for a citizens' assembly. Every distinct opinion must be represented.",
        user=(
            "Contributions to a public debate about: {topic}\n"
            "Each line starts with the contribution's id in brackets.\n\n"
            "{contributions}\n\n"
            "Write one sentence for each distinct opinion, from the most common to the rarest, and do not leave "
            "out opinions held by few people. End every sentence with the ids of the contributions that hold "
            "it, in brackets, like [12] or [12, 40]."
        ),
    ),
    PromptTemplate(
        prompt_id="summary-reduce-v1",
        task="summary",
        user=(
            "Below are partial summaries of a public debate about: {topic}\n"
            "Their sentences end with the ids of the contributions they summarize, in brackets.\n\n"
            "{summaries}\n\n"
            "Combine them into one short summary of the opinions expressed, including minority opinions. "
            "Keep the bracketed ids at the end of every sentence, like [12] or [12, 40]."
        ),
    ),
)

#: Every template by id.
PROMPTS: dict[str, PromptTemplate] = {t.prompt_id: t for t in _TEMPLATES}

#: The default prompt of each task.
DEFAULT_PROMPTS: dict[str, str] = {
    "summary": "summary-v1",
    "reformulation": "reformulation-v1",
    "translation": "translation-v1",
}

#: The reduce prompt that goes with each summary prompt (map-reduce over long debates).
REDUCE_PROMPTS: dict[str, str] = {"summary-v1": "summary-reduce-v1", "summary-v2": "summary-reduce-v1"}

#: Language names for target-language codes in prompts (a code not listed is used as given).
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "ja": "Japanese",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "zh": "Chinese",
    "zh-Hans": "Simplified Chinese",
    "zh-Hant": "Traditional Chinese",
}


def get_prompt(prompt_id: str | None, *, task: str) -> PromptTemplate:
    """The template ``prompt_id`` (default: the task's default), checked to belong to ``task``."""
    chosen = prompt_id or DEFAULT_PROMPTS.get(task)
    if chosen is None:
        raise DembiasError(f"unknown task {task!r}; expected one of {sorted(DEFAULT_PROMPTS)}")
    if chosen not in PROMPTS:
        raise DembiasError(f"unknown prompt {chosen!r}; known prompts: {sorted(PROMPTS)}")
    template = PROMPTS[chosen]
    if template.task != task:
        raise DembiasError(f"prompt {chosen!r} is for task {template.task!r}, not {task!r}")
    return template


def language_name(code: str) -> str:
    """The English name of a language code for prompts (the code itself when unknown)."""
    return LANGUAGE_NAMES.get(code, LANGUAGE_NAMES.get(code.split("-")[0], code))
