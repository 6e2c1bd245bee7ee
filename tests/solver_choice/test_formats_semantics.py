"""Spec §9.3 (format parsers), §9.4 (semantics), §9.5 (Pyke compat mode) and §9.6 (error taxonomy)."""

import pytest

from components.solver_choice import formats as F
from components.solver_choice import generators as G
from components.solver_choice import programs as P
from components.solver_choice.executor import execute_all
from components.solver_choice.solvers import solve

PYKE = """Predicates:
Red($x, bool)
Chases($x, $y, bool)
Facts:
Red(Bob, True) ::: Bob is red.
Chases(Bear, Lion, True)
Rules:
Red($x, True) && Chases($x, Lion, False) >>> Big($x, True) ::: gloss
Chases($x, Lion, True) >>> Sees($x, Lion, True)
Query:
Sees(Bear, Lion, True)
"""
FOL = """Predicates:
P(x) ::: p
Premises:
∀x (P(x) → Q(x)) ::: all p are q
∃x (Q(x) ∧ ¬R(x))
(P(A) ⊕ R(A)) ∨ ¬(P(A) ↔ R(A))
P(A)
Conclusion:
Q(A)
"""
Z3 = """# Declarations
people = EnumSort([Ann, Bo])
obj = DeclareSort()
c = Const(obj)
lecturer = Function([people] -> [bool])
score = Function([people] -> [int])
f = Function([obj] -> [bool])
# Constraints
ForAll([p:people], Implies(lecturer(p), score(p) >= 3))
lecturer(Ann)
Count([p:people], lecturer(p)) == 1
Exists([x:obj], f(x)) ::: gloss
Xor(f(c), Not(f(c)))
# Options
Question ::: which?
is_unsat(lecturer(Ann)) ::: (A)
is_valid(score(Ann) >= 3) ::: (B)
is_sat(lecturer(Bo)) ::: (C)
"""


def test_each_format_parses_and_runs():
    prog = F.parse_pyke(PYKE)
    assert len(prog.facts) == 2 and len(prog.rules) == 2 and prog.query == ("Sees", ("Bear", "Lion"), True)
    assert solve("pyke", PYKE, 3)["answer"] == "A"
    fol = F.parse_fol(FOL)
    assert len(fol.premises) == 4 and fol.goal == ["atom", "Q", ["c_A"]]
    assert solve("fol", FOL, 3)["answer"] == "A"
    z = F.parse_z3(Z3)
    assert len(z.constraints) == 5 and len(z.options) == 3
    r = solve("z3", Z3, 3)
    assert r["flag"] == "success" and r["answer"] == "B"


def test_direct_ladr_input_is_accepted():
    text = "formulas(assumptions).\nall x (P(x) -> Q(x)).\nP(a).\nend_of_list.\nformulas(goals).\nQ(a).\nend_of_list.\n"
    assert solve("fol", text, 3)["answer"] == "A"


def test_round_trip_canonical_print_is_identity():
    items = G.prontoqa(1, 4, (1, 4), "t") + G.folio(2, 3, (3, 5), 0.0, "t")[0]
    for it in items:
        for s in it["sentences"]:
            text = P.fol_formula(s["form"])
            once = F.parse_fol_formula(text)
            assert F.parse_fol_formula(P.canon(text)) == once
            for line in P.sentence_lines("pyke", s["form"], s["section"], 3):
                assert P.canon(line) == line


@pytest.mark.parametrize("lang, text, kind", [
    ("pyke", "Facts:\nRed(Bob, True)\nRules:\nQuery:\nRed(Bob, True)\n", "missing_section"),  # no Predicates is fine
    ("pyke", "Predicates:\nFacts:\nRed(Bob, True\nRules:\nQuery:\nRed(Bob, True)\n", "syntax"),
    ("pyke", "Facts:\nRed(Bob, True)\nRules:\nRed($x, $y, True) >>> Big($x, True)\nQuery:\nRed(Bob, True)\n", "arity"),
    ("pyke", "Facts:\nRed(Bob, True)\nRules:\nQuery:\n", "no_query"),
    ("fol", "Premises:\nP(A\nConclusion:\nP(A)\n", "syntax"),
    ("fol", "Premises:\nP(A) & Q(A)\nConclusion:\nP(A)\n", "bad_connective"),
    ("fol", "Premises:\nP(A, B)\nConclusion:\nP(A)\n", "arity"),
    ("fol", "Conclusion:\nP(A)\n", "missing_section"),
    ("z3", "# Declarations\nobj = DeclareSort()\n# Constraints\nf(c)\n# Options\nis_sat(f(c))\n", "undeclared"),
    ("z3", "# Constraints\n# Options\n", "missing_section"),
    ("z3", "# Declarations\nobj = DeclareSort()\nc = Const(obj)\nf = Function([obj] -> [bool])\n# Constraints\n"
           "f(c, c)\n# Options\nis_sat(f(c))\n", "arity"),
])
def test_malformed_programs_are_parsing_errors_of_their_class(lang, text, kind):
    if kind == "missing_section" and lang == "pyke":
        text = text.replace("Facts:\n", "", 1)
    r = solve(lang, text, 3)
    assert r["flag"] == "parsing error" and r["error"] == kind, r


def test_fol_precedence_fixed_vs_compat():
    assert F.parse_fol_formula("P(A) → Q(A) ∧ R(A)") == ["imp", ["atom", "P", ["c_A"]],
                                                          ["and", ["atom", "Q", ["c_A"]], ["atom", "R", ["c_A"]]]]
    assert F.parse_fol_formula("P(A) → Q(A) ∧ R(A)", "logiclm") == ["and", ["imp", ["atom", "P", ["c_A"]],
                                                                             ["atom", "Q", ["c_A"]]], ["atom", "R", ["c_A"]]]


def _z3_kb(constraint: str, options: list[str]) -> str:
    return ("# Declarations\nobj = DeclareSort()\na = Const(obj)\np = Function([obj] -> [bool])\n"
            "q = Function([obj] -> [bool])\n# Constraints\n" + constraint + "\n# Options\n" + "\n".join(options) + "\n")


def test_z3_three_labels_and_option_order():
    opts = ["is_valid(q(a))", "is_unsat(q(a))", "is_sat(q(a))"]
    assert solve("z3", _z3_kb("And(p(a), ForAll([x:obj], Implies(p(x), q(x))))", opts), 3)["answer"] == "A"
    assert solve("z3", _z3_kb("And(p(a), ForAll([x:obj], Implies(p(x), Not(q(x)))))", opts), 3)["answer"] == "B"
    assert solve("z3", _z3_kb("p(a)", opts), 3)["answer"] == "C"
    # letters follow line order, whatever the gloss says
    swapped = ["is_sat(q(a)) ::: (C)", "is_valid(q(a)) ::: (A)"]
    assert solve("z3", _z3_kb("p(a)", swapped), 3)["answer"] == "A"
    none = solve("z3", _z3_kb("p(a)", ["is_valid(q(a))"]), 3)
    assert none["flag"] == "execution error" and none["error"] == "no_output"


def test_enumsort_closure_changes_the_label():
    body = "# Constraints\nExists([x:s], q(x))\n# Options\nis_valid(q(a))\nis_unsat(q(a))\nis_sat(q(a))\n"
    enum = "# Declarations\ns = EnumSort([a])\nq = Function([s] -> [bool])\n" + body
    open_ = "# Declarations\ns = DeclareSort()\na = Const(s)\nq = Function([s] -> [bool])\n" + body
    assert solve("z3", enum, 3)["answer"] == "A" and solve("z3", open_, 3)["answer"] == "C"


REL = """Facts:
Sees(Bear, Lion, True)
Rules:
Sees($x, Lion, True) >>> Big($x, True)
Query:
Sees(Bear, Lion, True)
"""


def test_pyke_compat_mode_reproduces_logiclm():
    assert solve("pyke", REL, 3)["answer"] == "A"
    assert solve("pyke", REL, 3, "logiclm")["answer"] == "C"  # bug 1: relational query mis-parsed → Unknown
    two = "Facts:\nRed(Bob, True)\nRed(Bob, False)\nRules:\nQuery:\nRed(Bob, True)\n"
    assert solve("pyke", two, 3, "logiclm")["answer"] == "B"  # bug 2: True and False → False
    assert solve("pyke", two, 3)["answer"] == "C"
    repaired = "Facts:\nRed(Bob, True)\nRed($x, True) >>> Big($x, True)\nRules:\nQuery:\nBig(Bob, True)\n"
    assert solve("pyke", repaired, 3)["flag"] == "parsing error"
    r = solve("pyke", repaired, 3, "logiclm")
    assert r["flag"] == "success" and r["answer"] == "A" and "repaired" in r["detail"]  # bug 3
    var_fact = "Facts:\nRed($x, True)\nBig(Bob, True)\nRules:\nQuery:\nRed(Bob, True)\n"
    assert solve("pyke", var_fact, 3, "logiclm")["answer"] == "C"  # bug 4: dropped silently
    assert solve("pyke", var_fact, 3)["flag"] == "parsing error"


def test_timeouts_and_crashes_are_execution_errors():
    progs = [("pyke", PYKE, 3, "fixed"), ("fol", FOL, 3, "fixed"), ("z3", "# Declarations\n# Constraints\n# Options\n"
                                                                          "is_sat(x)\n", 3, "fixed")]
    res = execute_all(progs, 1, 10.0, 0.001)
    for r in res.values():
        assert r["flag"] in ("execution error", "parsing error")
        if r["flag"] == "execution error":
            assert r["error"] == "timeout" and "limit" in r["detail"]
    quick = execute_all(progs[:2], 2, 10.0, 30.0)
    assert {r["answer"] for r in quick.values()} == {"A"}
