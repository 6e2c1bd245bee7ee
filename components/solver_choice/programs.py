"""Gold translation (logical form → program lines, sentence-aligned), line tokenisation and program assembly.

Each NL sentence maps to one output of one or more program lines (joined by ``NL`` in token form), plus a
declarations output. The assembler only places outputs under the fixed section headers and drops exact
duplicate declaration lines; it never repairs content.
"""

from __future__ import annotations

import re

from components.solver_choice import logic as L

LANGUAGES = ("pyke", "fol", "z3")
NONE = "<none>"  # a sentence the language cannot express (Pyke projection of FOLIO-lite)
SEP = " <nl> "
TOKEN = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*|>>>|&&|->|==|!=|<=|>=|<nl>|<none>|:::|\S")
Z3_SORT = "obj"


# ------------------------------------------------------------------ tokens

def tokens(line: str) -> list[str]:
    return TOKEN.findall(line)


def detok(toks: list[str]) -> str:
    """Canonical spacing: gold lines are stored in exactly this form (so a perfect translator can match)."""
    out = ""
    prev = None
    for t in toks:
        if prev is None:
            out = t
        else:
            tight = (t in (")", ",", "]", ":") or prev in ("(", "[", "¬", ":", "∀", "∃")
                     or (t == "(" and _is_word(prev)))
            out += t if tight else " " + t
        prev = t
    return out


def _is_word(t: str) -> bool:
    return bool(re.match(r"\$?[A-Za-z_]", t)) and t not in ("<nl>", "<none>")


def canon(line: str) -> str:
    return detok(tokens(line))


# ------------------------------------------------------------------ per-language renderers

def _val(v: bool) -> str:
    return "True" if v else "False"


def pyke_literal(lt: tuple) -> str:
    pred, args, val = lt
    return f"{pred}({', '.join(('$' + a) if L.is_var(a) else a for a in args)}, {_val(val)})"


def pyke_lines(form: list, section: str) -> list[str]:
    """Pyke lines for one sentence (best-effort Horn projection; [] = not expressible)."""
    if section == "query":
        lt = L.as_literal(form)
        return [pyke_literal(lt)] if lt else []
    body_head = L.horn_rule(form)
    if body_head is not None:
        body, head = body_head
        if not body:
            return [pyke_literal(h) for h in head]
        return [" && ".join(pyke_literal(b) for b in body) + " >>> " + " && ".join(pyke_literal(h) for h in head)]
    if form[0] == "all" and form[2][0] in ("iff", "xor"):
        a, b = L.as_literal(form[2][1]), L.as_literal(form[2][2])
        if a and b:
            if form[2][0] == "iff":
                return [f"{pyke_literal(a)} >>> {pyke_literal(b)}", f"{pyke_literal(b)} >>> {pyke_literal(a)}"]
            na, nb = (a[0], a[1], not a[2]), (b[0], b[1], not b[2])
            return [f"{pyke_literal(a)} >>> {pyke_literal(nb)}", f"{pyke_literal(b)} >>> {pyke_literal(na)}"]
    return []


FOL_OPS = {"and": "∧", "or": "∨", "xor": "⊕", "imp": "→", "iff": "↔"}


def fol_formula(f: list, top: bool = True) -> str:
    op = f[0]
    if op == "atom":
        return f"{f[1]}({', '.join(f[2])})"
    if op == "not":
        inner = fol_formula(f[1], False)
        return "¬" + inner if f[1][0] == "atom" else f"¬({fol_formula(f[1])})"
    if op in FOL_OPS:
        s = f"{fol_formula(f[1], False)} {FOL_OPS[op]} {fol_formula(f[2], False)}"
        return s if top else f"({s})"
    q = "∀" if op == "all" else "∃"
    return f"{q}{f[1]} ({fol_formula(f[2])})"


def fol_lines(form: list, section: str) -> list[str]:
    return [fol_formula(form)]


Z3_OPS = {"and": "And", "or": "Or", "xor": "Xor", "imp": "Implies"}


def z3_expr(f: list) -> str:
    op = f[0]
    if op == "atom":
        return f"{f[1]}({', '.join(f[2])})"
    if op == "not":
        return f"Not({z3_expr(f[1])})"
    if op in Z3_OPS:
        return f"{Z3_OPS[op]}({z3_expr(f[1])}, {z3_expr(f[2])})"
    if op == "iff":
        return f"{z3_expr(f[1])} == {z3_expr(f[2])}"
    q = "ForAll" if op == "all" else "Exists"
    return f"{q}([{f[1]}:{Z3_SORT}], {z3_expr(f[2])})"


def z3_lines(form: list, section: str, n_options: int = 3) -> list[str]:
    if section != "query":
        return [z3_expr(form)]
    g = z3_expr(form)
    return [f"is_valid({g})", f"is_unsat({g})", f"is_sat({g})"][:n_options]


def decl_lines(lang: str, form: list) -> list[str]:
    preds = L.predicates(form)
    if lang == "z3":
        out = [f"{Z3_SORT} = DeclareSort()"]
        out += [f"{c} = Const({Z3_SORT})" for c in sorted(L.constants(form))]
        out += [f"{p} = Function([{', '.join([Z3_SORT] * n)}] -> [bool])" for p, n in preds.items()]
        return out
    if lang == "pyke":
        return [f"{p}({', '.join(['$x', '$y'][:n])}, bool)" for p, n in preds.items()]
    return [f"{p}({', '.join(['x', 'y'][:n])})" for p, n in preds.items()]


def sentence_lines(lang: str, form: list, section: str, n_options: int) -> list[str]:
    if lang == "pyke":
        lines = pyke_lines(form, section)
    elif lang == "fol":
        lines = fol_lines(form, section)
    else:
        lines = z3_lines(form, section, n_options)
    return [canon(x) for x in lines]


# ------------------------------------------------------------------ sentence-level pairs and assembly

def sentence_targets(item: dict, lang: str) -> list[dict]:
    """Gold outputs per sentence: ``{"section", "src", "tgt"}`` rows (tgt uses ``<nl>`` between lines)."""
    n_opt = len(item["options"])
    rows = []
    for s in item["sentences"]:
        lines = sentence_lines(lang, s["form"], s["section"], n_opt)
        rows.append({"section": s["section"], "src": s["text"], "tgt": SEP.join(lines) if lines else NONE})
    for s in item["sentences"]:
        rows.append({"section": "decl", "src": s["text"],
                     "tgt": SEP.join(canon(x) for x in decl_lines(lang, s["form"]))})
    return rows


def split_output(text: str) -> list[str]:
    text = text.strip()
    if not text or text == NONE:
        return []
    return [x.strip() for x in text.split("<nl>") if x.strip() and x.strip() != NONE]


def assemble(lang: str, item: dict, outputs: list[tuple[str, str, str]]) -> str:
    """Program text from ``(section, sentence, output)`` triples, sections in the language's fixed order."""
    by = {"decl": [], "fact": [], "rule": [], "query": []}
    for section, sentence, out in outputs:
        for line in split_output(out):
            if section == "decl":
                if line not in by["decl"]:
                    by["decl"].append(line)
            else:
                by[section].append(f"{line} ::: {sentence}" if lang != "z3" or section != "query" else line)
    if lang == "pyke":
        parts = ["Predicates:", *by["decl"], "Facts:", *by["fact"], "Rules:", *by["rule"], "Query:", *by["query"]]
    elif lang == "fol":
        parts = ["Predicates:", *by["decl"], "Premises:", *by["fact"], *by["rule"], "Conclusion:", *by["query"]]
    else:
        question = next((s for sec, s, _ in outputs if sec == "query"), "")
        opts = [f"{o} ::: {lab}" for o, lab in zip(by["query"], item["options"])] + by["query"][len(item["options"]):]
        parts = ["# Declarations", *by["decl"], "# Constraints", *by["fact"], *by["rule"], "# Options",
                 f"Question ::: {question}", *opts]
    return "\n".join(parts) + "\n"


def gold_outputs(item: dict, lang: str) -> list[tuple[str, str, str]]:
    return [(r["section"], r["src"], r["tgt"]) for r in sentence_targets(item, lang)]


def gold_program(item: dict, lang: str) -> str:
    return assemble(lang, item, gold_outputs(item, lang))
