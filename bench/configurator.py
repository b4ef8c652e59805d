#!/usr/bin/env python3
"""Configurator benchmark: propagation on a model of 40 groups and 100 rules (issue 17).

usage: .venv/bin/python bench/configurator.py [--groups 40] [--rules 100] [--repeat 50]
                                              [--libraries PATH]

Writes a seeded model (a rule set with models/bench.yaml: 30 one-of groups of 5 options and
10 many-of groups of 4 options taking 0 to 2; 100 rules: implies, excludes, requires and
expression constraints between random options of two or three groups; a total with a
capacity), loads it once, then measures on one core, as CPU time (time.process_time, which
other work on the machine disturbs less than wall time):
- propagate: a configure step given 3 chosen groups, without the exact search (the domains
  narrowed to arc consistency, every removed value with the rule that removed it);
- configure: the same step with the exact search (every value still possible is in some valid
  configuration), which is what POST /v1/configure answers;
- the laptop model: counting its 90 configurations.
With --libraries DIR (a directory holding python-constraint and ortools, e.g. installed with
`pip install --target DIR python-constraint ortools`; the project does not depend on them),
the same questions are answered by python-constraint and OR-Tools CP-SAT for comparison.
Prints medians and bests; asserts nothing about time (ARCHITECTURE.md: benchmarks live here).
"""
from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from ordinance.engine import load
from ordinance.engine.configurator import Solver, configure

LAPTOP = Path(__file__).resolve().parents[1] / "tests" / "configurator" / "data" / "laptop"


def write_model(root: Path, groups: int, rules: int, seed: int = 17) -> None:
    rnd = random.Random(seed)
    (root / "models").mkdir(parents=True)
    (root / "ruleset.yaml").write_text("ruleset: bench\nversion: '1'\n")
    lines = ["model: bench", "currency: EUR", "base_price: 1000.00", "groups:"]
    refs: list[tuple[str, str, bool]] = []
    singles = groups * 3 // 4
    for g in range(groups):
        single = g < singles
        n = 5 if single else 4
        lines += [f"  - id: g{g}", f"    min: {1 if single else 0}",
                  f"    max: {1 if single else 2}", "    options:"]
        for o in range(n):
            lines.append(f"      - {{id: o{o}, price: {rnd.randint(0, 300)}, "
                         f"bom: [{{item: P-{g}-{o}}}]}}")
            refs.append((f"g{g}", f"o{o}", single))
    lines.append("totals:\n  - id: watts\n    max: 400\n    contributions:")
    for g, o, _ in rnd.sample(refs, 40):
        lines.append(f"      {g}.{o}: {rnd.randint(5, 40)}")
    lines.append("rules:")
    for r in range(rules):
        kind = rnd.choice(["implies", "implies", "excludes", "requires", "constraint"])
        (g1, o1, _), (g2, o2, s2) = rnd.sample(refs, 2)
        while g2 == g1:
            g2, o2, s2 = rnd.choice(refs)
        if kind == "constraint":
            g3, o3, s3 = rnd.choice(refs)
            third = f"{g3} == '{o3}'" if s3 else f"'{o3}' in {g3}"
            second = f"{g2} != '{o2}'" if s2 else f"not ('{o2}' in {g2})"
            lines.append(f"  - id: r{r}\n    constraint: \"{second} or {third}\"")
        else:
            lines.append(f"  - id: r{r}\n    {kind}: [{g1}.{o1}, {g2}.{o2}]")
    (root / "models" / "bench.yaml").write_text("\n".join(lines) + "\n")


def cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times), min(times)


def show(name: str, figures: tuple[float, float]) -> None:
    print(f"{name:<58} median {figures[0]:8.2f} ms   best {figures[1]:8.2f} ms")


def libraries(model: Any, selection: dict[str, Any], repeat: int) -> None:
    """The same question (which values can still be taken?) through python-constraint and
    CP-SAT, built from the compiled constraints (tuples and sums), timed model-building
    included (a configure step is one stateless call)."""
    fixed = {}
    from ordinance.engine.configurator import parse_selection
    fixed = parse_selection(model, selection)

    def with_constraint() -> int:
        import constraint as pc
        p = pc.Problem()
        for v in model.vars:
            p.addVariable(v.id, [fixed[v.id]] if v.id in fixed else list(v.domain))
        for c in model.constraints:
            if c.kind == "tuples" and c.allowed is not None:
                allowed = c.allowed
                p.addConstraint(pc.FunctionConstraint(lambda *t, a=allowed: t in a),
                                list(c.scope))
            elif c.kind == "sum":
                ws, lo, hi = c.weights, c.low, c.high

                def ok(*t: Any, ws: Any = ws, lo: Any = lo, hi: Any = hi) -> bool:
                    s = sum(w[x] for w, x in zip(ws, t))
                    return (lo is None or s >= lo) and (hi is None or s <= hi)
                p.addConstraint(pc.FunctionConstraint(ok), list(c.scope))
        return 1 if p.getSolution() is not None else 0

    def with_cpsat() -> int:
        from ortools.sat.python import cp_model
        m = cp_model.CpModel()
        x = {}
        for v in model.vars:
            dom = [fixed[v.id]] if v.id in fixed else list(v.domain)
            x[v.id] = (m.NewIntVar(0, len(v.domain) - 1, v.id), v.domain)
            m.AddAllowedAssignments([x[v.id][0]], [[v.domain.index(d)] for d in dom])
        for c in model.constraints:
            if c.kind == "tuples" and c.allowed is not None:
                m.AddAllowedAssignments([x[s][0] for s in c.scope], [
                    [x[s][1].index(val) for s, val in zip(c.scope, t)] for t in c.allowed])
            elif c.kind == "sum":
                terms = []
                for s, w in zip(c.scope, c.weights):
                    var, dom = x[s]
                    e = m.NewIntVar(-10**6, 10**6, "")
                    m.AddElement(var, [int(w[d] * 100) for d in dom], e)
                    terms.append(e)
                if c.low is not None:
                    m.Add(sum(terms) >= int(c.low * 100))
                if c.high is not None:
                    m.Add(sum(terms) <= int(c.high * 100))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        return 1 if solver.Solve(m) in (cp_model.OPTIMAL, cp_model.FEASIBLE) else 0

    def ours() -> int:
        s = Solver(model)
        dom = s.domains()
        for k, v in fixed.items():
            dom[k] = [v]
        s.propagate(dom, {})
        return 1 if s.first(dom, lambda vid, xs: xs) is not None else 0

    for name, fn in (("ours (propagate + search)", ours),
                     ("OR-Tools CP-SAT (build + solve, 1 worker)", with_cpsat),
                     ("python-constraint (backtracking)", with_constraint)):
        signal.signal(signal.SIGALRM, _too_long)
        signal.alarm(LIBRARY_SECONDS)
        try:
            show(f"  one valid configuration: {name}", cpu(fn, repeat))
        except ImportError as exc:
            print(f"  {name}: not importable ({exc})")
        except TimeoutError:
            print(f"  one valid configuration: {name}: no answer within {LIBRARY_SECONDS} s")
        finally:
            signal.alarm(0)


LIBRARY_SECONDS = 60


def _too_long(signum: int, frame: Any) -> None:
    raise TimeoutError


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=40)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--libraries", metavar="DIR")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_model(Path(tmp), args.groups, args.rules)
        model = load(tmp).model.configs["bench"]
    laptop = load(LAPTOP).model.configs["laptop"]
    selection = {"g0": "o1", "g1": "o2", "g2": "o0"}
    answer = configure(model, selection, exact=False)
    removed = sum(1 for g in answer["groups"] for o in g["options"] if o["removed_by"])
    print(f"bench model: {len(model.vars)} variables, {len(model.constraints)} constraints; "
          f"selection {selection} valid={answer['valid']}, {removed} options greyed out")
    show("propagate (configure, exact=False)",
         cpu(lambda: configure(model, selection, exact=False), args.repeat))
    show("configure (exact: every possible value in a configuration)",
         cpu(lambda: configure(model, selection), args.repeat))
    show("laptop: count the 90 configurations",
         cpu(lambda: configure(laptop, {}, count=True, exact=False), args.repeat))
    if args.libraries:
        sys.path.insert(0, args.libraries)
        print("bench model, 3 groups chosen:")
        libraries(model, selection, max(5, args.repeat // 5))
        print("laptop, cpu i7 chosen:")
        libraries(laptop, {"cpu": "i7"}, max(5, args.repeat // 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
