"""Translators behind one interface: ``translate(item, language) -> program text``.

``gold`` (from the logical form), ``noisy_gold`` (calibration only), ``seq2seq`` (decoded in batches by
``seq2seq.decode_job``; this module assembles its sentence outputs), ``openai_compat`` (an OpenAI-compatible
chat endpoint; paper profile). SmolLM2 is not wired (see README).
"""

from __future__ import annotations

import json
import os
import random
import re
import urllib.request

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


class OpenAICompatTranslator:
    """Chat-completions client (temperature 0) for an OpenAI-compatible endpoint; key from an env var."""

    def __init__(self, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY", max_tokens: int = 1024,
                 timeout: float = 120.0, examples: dict[str, str] | None = None):
        self.base_url, self.model, self.key_env = base_url.rstrip("/"), model, api_key_env
        self.max_tokens, self.timeout, self.examples = max_tokens, timeout, examples or {}
        self.name = f"openai_{model}"

    def prompt(self, item: dict, lang: str) -> list[dict]:
        shot = self.examples.get(lang, "")
        user = (f"{FORMAT_HINT[lang]}\n\n{shot}\n\nProblem:\n{item['context']}\nQuestion: {item['question']}\n"
                f"Options: {' '.join(item['options'])}\nProgram:")
        return [{"role": "system", "content": "You translate logic problems into solver programs. Output only the "
                                              "program."}, {"role": "user", "content": user}]

    def translate(self, item: dict, lang: str) -> str:
        body = json.dumps({"model": self.model, "messages": self.prompt(item, lang), "temperature": 0,
                           "max_tokens": self.max_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if os.environ.get(self.key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.key_env]}"
        req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            data = json.loads(resp.read().decode())
        text = data["choices"][0]["message"]["content"]
        return re.sub(r"^```\w*\n|```\s*$", "", text.strip(), flags=re.M)
