"""Parsers for the three Logic-LM program formats (spec §5.3) — static checks only, no solver.

Every malformed program raises :class:`ParseError` with a class name (``missing_section``, ``syntax``,
``arity``, ``undeclared``, ``no_query``, ``bad_connective``) used by the error taxonomy. ``compat="logiclm"``
reproduces Logic-LM's parsing behaviours (spec §2, bugs 1–4 and 6); ``"fixed"`` is the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GLOSS = re.compile(r"\s:::\s.*$|\s:::$")


class ParseError(Exception):
    def __init__(self, kind: str, detail: str):
        self.kind, self.detail = kind, detail
        super().__init__(f"{kind}: {detail}")


def _lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = GLOSS.sub("", raw).strip()
        if line:
            out.append(line)
    return out


def _sections(text: str, headers: list[str], required: list[str]) -> dict[str, list[str]]:
    secs: dict[str, list[str]] = {}
    current = None
    for line in _lines(text):
        head = next((h for h in headers if line.rstrip(":").strip().lower() == h.rstrip(":").lower()), None)
        if head is not None:
            current = head
            secs.setdefault(head, [])
            continue
        if current is None:
            raise ParseError("missing_section", f"line before any section header: {line[:60]!r}")
        secs[current].append(line)
    for h in required:
        if h not in secs:
            raise ParseError("missing_section", f"no {h!r} section")
    return secs


# ------------------------------------------------------------------ Pyke

PYKE_LIT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)$")
ARG = re.compile(r"^\$?[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class PykeProgram:
    facts: list[tuple]  # (pred, args, value)
    rules: list[tuple[list, list]]  # (body lits, head lits), args may be "$x"
    query: tuple  # (pred, args, value)
    repaired: bool = False
    dropped_facts: int = 0
    query_raw: str = ""


def _pyke_lit(text: str) -> tuple:
    m = PYKE_LIT.match(text.strip())
    if not m:
        raise ParseError("syntax", f"not a literal: {text.strip()[:60]!r}")
    args = [a.strip() for a in m.group(2).split(",")]
    if len(args) < 2:
        raise ParseError("arity", f"{m.group(1)} needs arguments and a truth value: {text.strip()[:60]!r}")
    if args[-1] not in ("True", "False"):
        raise ParseError("syntax", f"last argument must be True/False: {text.strip()[:60]!r}")
    if not all(ARG.match(a) for a in args[:-1]):
        raise ParseError("syntax", f"bad argument in {text.strip()[:60]!r}")
    return m.group(1), tuple(args[:-1]), args[-1] == "True"


def _pyke_rule(line: str) -> tuple[list, list]:
    if line.count(">>>") != 1:
        raise ParseError("syntax", f"a rule needs exactly one '>>>': {line[:60]!r}")
    body, head = line.split(">>>")
    return [_pyke_lit(x) for x in body.split("&&")], [_pyke_lit(x) for x in head.split("&&")]


def parse_pyke(text: str, compat: str = "fixed") -> PykeProgram:
    secs = _sections(text, ["Predicates:", "Facts:", "Rules:", "Query:"], ["Facts:", "Rules:", "Query:"])
    facts, rules, repaired, dropped = [], [], False, 0
    for line in secs["Facts:"]:
        if ">>>" in line:
            if compat != "logiclm":
                raise ParseError("syntax", f"rule under Facts: {line[:60]!r}")
            rules.append(_pyke_rule(line))  # Logic-LM re-splits it and still counts the program executable
            repaired = True
            continue
        lit = _pyke_lit(line)
        if any(a.startswith("$") for a in lit[1]):
            if compat == "logiclm":
                dropped += 1  # silently dropped from the .kfb
                continue
            raise ParseError("syntax", f"fact with a variable: {line[:60]!r}")
        facts.append(lit)
    for line in secs["Rules:"]:
        rules.append(_pyke_rule(line))
    if len(secs["Query:"]) < 1:
        raise ParseError("no_query", "empty Query: section")
    if len(secs["Query:"]) > 1 and compat != "logiclm":
        raise ParseError("no_query", "more than one query")
    qraw = secs["Query:"][0]
    query = _pyke_lit(qraw)
    if any(a.startswith("$") for a in query[1]):
        raise ParseError("no_query", f"query is not ground: {qraw[:60]!r}")
    arity: dict[str, int] = {}
    for pred, args, _ in [*facts, *(x for b, h in rules for x in [*b, *h]), query]:
        if arity.setdefault(pred, len(args)) != len(args):
            raise ParseError("arity", f"{pred} used with {arity[pred]} and {len(args)} arguments")
    for body, head in rules:
        bound = {a for _, args, _ in body for a in args if a.startswith("$")}
        free = {a for _, args, _ in head for a in args if a.startswith("$")} - bound
        if free:
            raise ParseError("syntax", f"head variable {sorted(free)[0]} not bound in the body")
    return PykeProgram(facts, rules, query, repaired, dropped, qraw)


# ------------------------------------------------------------------ FOL (Logic-LM / FOLIO)

FOL_TOKEN = re.compile(r"\s*(∀|∃|¬|∧|∨|⊕|→|↔|\(|\)|,|[A-Za-z_][A-Za-z0-9_']*)")
FOL_PREC_FIXED = {"↔": 1, "→": 2, "⊕": 3, "∨": 3, "∧": 4}
RIGHT_ASSOC = {"→"}


def _fol_tokens(text: str) -> list[str]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = FOL_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad = text[pos:].strip()[:1]
            raise ParseError("bad_connective", f"unexpected symbol {bad!r} in {text[:60]!r}")
        out.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _FolParser:
    OPS = {"∧": "and", "∨": "or", "⊕": "xor", "→": "imp", "↔": "iff"}

    def __init__(self, text: str, compat: str):
        self.toks, self.i, self.compat, self.text = _fol_tokens(text), 0, compat, text

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expect: str | None = None):
        t = self.peek()
        if t is None or (expect and t != expect):
            raise ParseError("syntax", f"expected {expect or 'more'} in {self.text[:60]!r}")
        self.i += 1
        return t

    def parse(self, bound=frozenset()):
        f = self.formula(0, bound)
        if self.peek() is not None:
            raise ParseError("syntax", f"unexpected {self.peek()!r} in {self.text[:60]!r}")
        return f

    def formula(self, min_prec: int, bound):
        left = self.unary(bound)
        while (t := self.peek()) in self.OPS:
            prec = 1 if self.compat == "logiclm" else FOL_PREC_FIXED[t]
            if prec < min_prec:
                break
            self.take()
            nxt = prec if (t in RIGHT_ASSOC and self.compat != "logiclm") else prec + 1
            right = self.formula(nxt, bound)
            left = [self.OPS[t], left, right]
        return left

    def unary(self, bound):
        t = self.peek()
        if t == "¬":
            self.take()
            return ["not", self.unary(bound)]
        if t in ("∀", "∃"):
            self.take()
            var = self.take()
            if not re.match(r"^[a-z]\w*$", var):
                raise ParseError("syntax", f"bad quantified variable {var!r}")
            body = self.formula(0, bound | {var})  # scope runs to the end of the enclosing formula
            return ["all" if t == "∀" else "ex", var, body]
        if t == "(":
            self.take()
            f = self.formula(0, bound)
            if self.peek() != ")":
                raise ParseError("syntax", f"unbalanced parenthesis in {self.text[:60]!r}")
            self.take()
            return f
        if t is None or not re.match(r"^[A-Za-z_]", t):
            raise ParseError("syntax", f"expected a predicate, got {t!r} in {self.text[:60]!r}")
        name = self.take()
        self.take("(")
        args = [self.take()]
        while self.peek() == ",":
            self.take()
            args.append(self.take())
        if self.peek() != ")":
            raise ParseError("syntax", f"unbalanced parenthesis in {self.text[:60]!r}")
        self.take()
        for a in args:
            if not re.match(r"^[A-Za-z_][\w']*$", a):
                raise ParseError("syntax", f"bad term {a!r}")
        args = [a.replace("'", "") if a in bound else "c_" + a.replace("'", "") for a in args]
        return ["atom", name, args]


@dataclass
class FolProgram:
    premises: list[list]
    goal: list
    raw_goal: str = ""
    ladr: bool = False
    ladr_premises: list[str] = field(default_factory=list)


def parse_fol_formula(text: str, compat: str = "fixed") -> list:
    if text.count("(") != text.count(")"):
        raise ParseError("syntax", f"unbalanced parenthesis in {text[:60]!r}")
    return _FolParser(text, compat).parse()


def parse_fol(text: str, compat: str = "fixed") -> FolProgram:
    if "formulas(assumptions)" in text:
        return _parse_ladr(text)
    secs = _sections(text, ["Predicates:", "Premises:", "Conclusion:"], ["Premises:", "Conclusion:"])
    if not secs["Conclusion:"]:
        raise ParseError("no_query", "empty Conclusion: section")
    premises = [parse_fol_formula(x, compat) for x in secs["Premises:"]]
    goal = parse_fol_formula(secs["Conclusion:"][0], compat)
    arity: dict[str, int] = {}
    for f in [*premises, goal]:
        _arity(f, arity)
    return FolProgram(premises, goal, secs["Conclusion:"][0])


def _arity(f: list, seen: dict) -> None:
    if f[0] == "atom":
        if seen.setdefault(f[1], len(f[2])) != len(f[2]):
            raise ParseError("arity", f"{f[1]} used with {seen[f[1]]} and {len(f[2])} arguments")
    elif f[0] == "not":
        _arity(f[1], seen)
    elif f[0] in ("all", "ex"):
        _arity(f[2], seen)
    else:
        _arity(f[1], seen)
        _arity(f[2], seen)


def _parse_ladr(text: str) -> FolProgram:
    blocks = re.findall(r"formulas\((assumptions|goals)\)\.(.*?)end_of_list\.", text, re.S)
    if not blocks:
        raise ParseError("syntax", "LADR input without complete formulas(...) blocks")
    prem = [x.strip() + "." for b, body in blocks if b == "assumptions" for x in body.split(".") if x.strip()]
    goals = [x.strip() for b, body in blocks if b == "goals" for x in body.split(".") if x.strip()]
    if not goals:
        raise ParseError("no_query", "LADR input without a goal")
    return FolProgram([], [], goals[0], ladr=True, ladr_premises=prem)


def to_ladr(f: list) -> str:
    op = f[0]
    if op == "atom":
        return f"{f[1]}({', '.join(f[2])})"
    if op == "not":
        return f"-({to_ladr(f[1])})"
    if op in ("all", "ex"):
        return f"({'all' if op == 'all' else 'exists'} {f[1]} ({to_ladr(f[2])}))"
    a, b = to_ladr(f[1]), to_ladr(f[2])
    if op == "xor":
        return f"(({a} & -({b})) | (-({a}) & {b}))"
    return f"({a} {LADR_OPS[op]} {b})"


LADR_OPS = {"and": "&", "or": "|", "imp": "->", "iff": "<->"}


# ------------------------------------------------------------------ Z3 DSL

Z3_TOKEN = re.compile(r"\s*(->|==|!=|<=|>=|[A-Za-z_][A-Za-z0-9_]*|-?\d+|[()\[\],:<>=+])")


def _z3_tokens(text: str) -> list[str]:
    pos, out = 0, []
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = Z3_TOKEN.match(text, pos)
        if not m:
            raise ParseError("bad_connective", f"unexpected symbol {text[pos]!r} in {text[:60]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


@dataclass
class Z3Program:
    sorts: dict  # name -> ("declare",) | ("enum", [members]) | ("int", [values])
    consts: dict  # name -> sort
    functions: dict  # name -> ([arg sorts], result sort)
    constraints: list  # ASTs
    options: list  # ASTs
    dropped_declarations: int = 0


class _Z3Parser:
    BOOL_FNS = {"And", "Or", "Not", "Implies", "Xor", "If"}
    OPT_FNS = {"is_valid", "is_sat", "is_unsat", "is_accurate_list", "is_exception"}

    def __init__(self, text: str, prog: "Z3Program", options: bool = False):
        self.toks, self.i, self.prog, self.text, self.options = _z3_tokens(text), 0, prog, text, options

    def peek(self, k: int = 0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, expect=None):
        t = self.peek()
        if t is None or (expect is not None and t != expect):
            raise ParseError("syntax", f"expected {expect or 'more'} in {self.text[:60]!r}")
        self.i += 1
        return t

    def parse(self):
        e = self.expr({})
        if self.peek() is not None:
            raise ParseError("syntax", f"unexpected {self.peek()!r} in {self.text[:60]!r}")
        return e

    def expr(self, scope):
        left = self.atom(scope)
        if self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()
            left = ["cmp", op, left, self.atom(scope)]
        return left

    def args(self, scope):
        self.take("(")
        out = []
        if self.peek() != ")":
            out.append(self.expr(scope))
            while self.peek() == ",":
                self.take()
                out.append(self.expr(scope))
        self.take(")")
        return out

    def binders(self, scope):
        self.take("[")
        new = dict(scope)
        while True:
            v = self.take()
            self.take(":")
            s = self.take()
            if s not in self.prog.sorts:
                raise ParseError("undeclared", f"sort {s!r} not declared")
            new[v] = s
            if self.peek() == ",":
                self.take()
                continue
            break
        self.take("]")
        return new

    def atom(self, scope):
        t = self.take()
        if t == "(":
            e = self.expr(scope)
            self.take(")")
            return e
        if re.match(r"^-?\d+$", t):
            return ["int", int(t)]
        if t in ("ForAll", "Exists", "Count"):
            self.take("(")
            inner = self.binders(scope)
            self.take(",")
            body = self.expr(inner)
            self.take(")")
            return ["quant", t, [(v, s) for v, s in inner.items() if v not in scope or scope[v] != s], body]
        if t in self.BOOL_FNS:
            return ["bool", t, self.args(scope)]
        if t in self.OPT_FNS:
            if not self.options:
                raise ParseError("syntax", f"{t} outside # Options")
            if t == "is_accurate_list":
                self.take("(")
                self.take("[")
                items = [self.expr(scope)]
                while self.peek() == ",":
                    self.take()
                    items.append(self.expr(scope))
                self.take("]")
                self.take(")")
                return ["opt", t, items]
            return ["opt", t, self.args(scope)]
        if t in scope:
            return ["var", t, scope[t]]
        if t in self.prog.consts:
            return ["const", t]
        for s, spec in self.prog.sorts.items():
            if spec[0] == "enum" and t in spec[1]:
                return ["member", s, t]
        if t in ("True", "False"):
            return ["lit", t == "True"]
        if t in self.prog.functions:
            args = self.args(scope)
            if len(args) != len(self.prog.functions[t][0]):
                raise ParseError("arity", f"{t} takes {len(self.prog.functions[t][0])} arguments, got {len(args)}")
            return ["app", t, args]
        raise ParseError("undeclared", f"symbol {t!r} not declared")


DECL = {
    "declare": re.compile(r"^(\w+)\s*=\s*DeclareSort\(\s*\)$"),
    "enum": re.compile(r"^(\w+)\s*=\s*EnumSort\(\s*\[(.*)\]\s*\)$"),
    "int": re.compile(r"^(\w+)\s*=\s*IntSort\(\s*\[(.*)\]\s*\)$"),
    "const": re.compile(r"^(\w+)\s*=\s*Const\(\s*(\w+)\s*\)$"),
    "func": re.compile(r"^(\w+)\s*=\s*Function\(\s*\[(.*)\]\s*->\s*\[(.*)\]\s*\)$"),
}


def parse_z3(text: str, compat: str = "fixed") -> Z3Program:
    secs = _sections(text, ["# Declarations", "# Constraints", "# Options"],
                     ["# Declarations", "# Constraints", "# Options"])
    prog = Z3Program({}, {}, {}, [], [])
    for line in secs["# Declarations"]:
        if m := DECL["declare"].match(line):
            prog.sorts[m.group(1)] = ("declare",)
        elif m := DECL["enum"].match(line):
            members = [x.strip() for x in m.group(2).split(",") if x.strip()]
            if members and all(re.match(r"^-?\d+$", x) for x in members):
                prog.sorts[m.group(1)] = ("int", [int(x) for x in members])
            else:
                prog.sorts[m.group(1)] = ("enum", members)
        elif m := DECL["int"].match(line):
            prog.sorts[m.group(1)] = ("int", [int(x) for x in m.group(2).split(",") if x.strip()])
        elif m := DECL["const"].match(line):
            if m.group(2) not in prog.sorts:
                raise ParseError("undeclared", f"sort {m.group(2)!r} not declared")
            prog.consts[m.group(1)] = m.group(2)
        elif m := DECL["func"].match(line):
            args = [x.strip() for x in m.group(2).split(",") if x.strip()]
            res = m.group(3).strip()
            for s in [*args, res]:
                if s not in ("bool", "int") and s not in prog.sorts:
                    raise ParseError("undeclared", f"sort {s!r} not declared")
            old = prog.functions.get(m.group(1))
            if old is not None and old != (args, res):
                raise ParseError("arity", f"{m.group(1)} declared twice with different signatures")
            prog.functions[m.group(1)] = (args, res)
        elif compat == "logiclm":
            prog.dropped_declarations += 1  # Logic-LM collects such lines and never emits them
        else:
            raise ParseError("syntax", f"not a declaration: {line[:60]!r}")
    prog.constraints = [_Z3Parser(x, prog).parse() for x in secs["# Constraints"]]
    opts = [x for x in secs["# Options"] if not x.lower().startswith("question")]
    if not opts:
        raise ParseError("no_query", "no option lines")
    prog.options = [_Z3Parser(x, prog, options=True).parse() for x in opts]
    return prog
