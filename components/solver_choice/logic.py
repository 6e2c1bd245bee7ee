"""Logical forms shared by generators, gold translators and label checks.

A formula is a JSON-able nested list: ``["atom", pred, [args]]``, ``["not", f]``, ``["and", f, g]``,
``["or", f, g]``, ``["xor", f, g]``, ``["imp", f, g]``, ``["iff", f, g]``, ``["all", var, f]``,
``["ex", var, f]``. Variables are lower-case (``x``), constants capitalised (``Max``, ``BaldEagle``).
Literals for forward chaining are ``(pred, args tuple, value bool)``.
"""

from __future__ import annotations

from typing import Iterable

BINARY = ("and", "or", "xor", "imp", "iff")


def atom(pred: str, *args: str) -> list:
    return ["atom", pred, list(args)]


def neg(f: list) -> list:
    return ["not", f]


def lit(pred: str, args: Iterable[str], value: bool) -> list:
    a = atom(pred, *args)
    return a if value else neg(a)


def is_var(term: str) -> bool:
    return term[:1].islower()


def as_literal(f: list) -> tuple[str, tuple, bool] | None:
    """``(pred, args, value)`` when ``f`` is a (possibly negated) atom, else None."""
    if f[0] == "atom":
        return f[1], tuple(f[2]), True
    if f[0] == "not" and f[1][0] == "atom":
        return f[1][1], tuple(f[1][2]), False
    return None


def predicates(f: list, out: dict | None = None) -> dict[str, int]:
    """Predicate name → arity."""
    out = {} if out is None else out
    if f[0] == "atom":
        out[f[1]] = len(f[2])
    elif f[0] == "not":
        predicates(f[1], out)
    elif f[0] in BINARY:
        predicates(f[1], out)
        predicates(f[2], out)
    else:
        predicates(f[2], out)
    return out


def constants(f: list, out: set | None = None) -> set[str]:
    out = set() if out is None else out
    if f[0] == "atom":
        out.update(a for a in f[2] if not is_var(a))
    elif f[0] == "not":
        constants(f[1], out)
    elif f[0] in BINARY:
        constants(f[1], out)
        constants(f[2], out)
    else:
        constants(f[2], out)
    return out


# ---------------------------------------------------------------- Horn view (rules for forward chaining)

def horn_rule(f: list) -> tuple[list, list] | None:
    """``(body literals, head literals)`` when ``f`` is a Horn-style rule or ground literal(s), else None.

    ``∀x (L1 ∧ … → M1 ∧ …)``, a ground ``L1 ∧ … → M``, a literal (empty body) or a ground conjunction of literals.
    """
    g = f
    while g[0] == "all":
        g = g[2]
    if g[0] == "imp":
        body, head = _conj(g[1]), _conj(g[2])
        if body is not None and head is not None:
            return body, head
        return None
    if f[0] == "all":
        return None
    lits = _conj(f)
    if lits is not None and all(not is_var(a) for _, args, _ in lits for a in args):
        return [], lits
    return None


def _conj(f: list) -> list | None:
    if f[0] == "and":
        a, b = _conj(f[1]), _conj(f[2])
        return None if a is None or b is None else a + b
    lt = as_literal(f)
    return None if lt is None else [lt]


def forward_chain(rules: list[tuple[list, list]], max_rounds: int = 50) -> dict[tuple, int]:
    """Fixpoint of ground literals with explicit negation: literal → derivation depth (0 = given fact)."""
    known: dict[tuple, int] = {}
    for body, head in rules:
        if not body:
            for h in head:
                known.setdefault(h, 0)
    for _ in range(max_rounds):
        new: dict[tuple, int] = {}
        for body, head in rules:
            if not body:
                continue
            for binding, depth in _matches(body, known, {}, 0):
                for pred, args, val in head:
                    ground = (pred, tuple(binding.get(a, a) for a in args), val)
                    if any(is_var(a) for a in ground[1]):
                        continue
                    d = depth + 1
                    if ground not in known and (ground not in new or new[ground] > d):
                        new[ground] = d
        if not new:
            break
        known.update(new)
    return known


def _matches(body: list, known: dict, binding: dict, depth: int):
    if not body:
        yield binding, depth
        return
    pred, args, val = body[0]
    for (p, a, v), d in list(known.items()):
        if p != pred or v != val or len(a) != len(args):
            continue
        b = dict(binding)
        ok = True
        for pat, ground in zip(args, a):
            if is_var(pat):
                if b.setdefault(pat, ground) != ground:
                    ok = False
                    break
            elif pat != ground:
                ok = False
                break
        if ok:
            yield from _matches(body[1:], known, b, max(depth, d))


def fc_label(premises: list[list], query: list) -> tuple[str, int]:
    """Open-world forward-chaining label of a literal query: A (derived), B (negation derived), C; and depth."""
    rules = [r for r in (horn_rule(p) for p in premises) if r is not None]
    known = forward_chain(rules)
    q = as_literal(query)
    if q is None:
        return "C", -1
    pred, args, val = q
    if (pred, args, val) in known:
        return "A", known[(pred, args, val)]
    if (pred, args, not val) in known:
        return "B", known[(pred, args, not val)]
    return "C", -1


def contradictory(known: dict) -> bool:
    return any((p, a, not v) in known for (p, a, v) in known)


# ---------------------------------------------------------------- classical entailment with Z3 (open domain)

def z3_formula(f: list, env: dict):
    import z3

    op = f[0]
    if op == "atom":
        fn = env["preds"][f[1]]
        return fn(*[env["vars"][a] if is_var(a) else env["consts"][a] for a in f[2]])
    if op == "not":
        return z3.Not(z3_formula(f[1], env))
    if op in BINARY:
        a, b = z3_formula(f[1], env), z3_formula(f[2], env)
        return {"and": z3.And, "or": z3.Or, "xor": z3.Xor, "imp": z3.Implies, "iff": lambda p, q: p == q}[op](a, b)
    v = z3.Const(f[1], env["sort"])
    inner = z3_formula(f[2], {**env, "vars": {**env["vars"], f[1]: v}})
    return z3.ForAll([v], inner) if op == "all" else z3.Exists([v], inner)


def z3_label(premises: list[list], goal: list, timeout_ms: int = 10000) -> str:
    """Classical 3-way label over an uninterpreted sort: A entailed, B refuted, C neither; '?' unknown/timeout."""
    import z3

    sort = z3.DeclareSort("obj")
    preds: dict[str, int] = {}
    consts: set[str] = set()
    for f in [*premises, goal]:
        predicates(f, preds)
        constants(f, consts)
    env = {"sort": sort, "vars": {},
           "preds": {p: z3.Function(p, *([sort] * n), z3.BoolSort()) for p, n in preds.items()},
           "consts": {c: z3.Const(c, sort) for c in consts}}
    kb = [z3_formula(p, env) for p in premises]
    g = z3_formula(goal, env)

    def unsat(extra) -> bool | None:
        s = z3.Solver()
        s.set("timeout", timeout_ms)
        s.add(*kb, extra)
        r = s.check()
        return None if r == z3.unknown else r == z3.unsat

    entailed, refuted = unsat(z3.Not(g)), unsat(g)
    if entailed is None or refuted is None:
        return "?"
    if entailed and refuted:
        return "!"  # inconsistent premises
    return "A" if entailed else "B" if refuted else "C"
