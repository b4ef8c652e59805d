"""A stand-in for `ordinance.engine`, used only while the real engine is not importable.

It implements the API of docs/design/engine-api.md just far enough to decide the orders of
the conformance rule sets these tests use (c07-approval: list prices from ref.prices, the
negotiated percent discount, the approval table; c04's list prices). The tests assert only
what SPEC.md says those rule sets must give, so they hold for the real engine too.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import yaml

PHASES = ("defaulting", "validation", "compliance", "pricing", "sourcing", "approval")


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    col: int


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    message: str
    span: Span
    hint: str | None = None


class RuleSetInvalid(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} diagnostics")
        self.diagnostics = diagnostics


class BadOrder(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def digest_of(path: str | Path) -> str:
    root = Path(path)
    h = hashlib.sha256()
    for p in _files(root):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("tests/"):
            continue
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()


def check(path: str | Path) -> list[Diagnostic]:
    root = Path(path)
    out = []
    if not (root / "ruleset.yaml").is_file():
        return [Diagnostic("NO_MANIFEST", "error", "no ruleset.yaml", Span("ruleset.yaml", 1, 1))]
    for p in _files(root):
        if p.suffix == ".yaml":
            for n, text in enumerate(p.read_text("utf-8").splitlines(), 1):
                if "when:" in text and ">>" in text:  # the one expression mistake used here
                    out.append(Diagnostic("PARSE_ERROR", "error", "unexpected '>'",
                                          Span(str(p), n, text.index(">>") + 2)))
            try:
                yaml.safe_load(p.read_text("utf-8"))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                out.append(Diagnostic("PARSE_ERROR", "error", str(exc).splitlines()[0],
                                      Span(str(p), (mark.line + 1) if mark else 1,
                                           (mark.column + 1) if mark else 1)))
    return out


def _q(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Decision:
    def __init__(self, data: dict, status: str):
        self._data = data
        self.status = status

    def to_json(self) -> dict:
        def money(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: money(x) for k, x in v.items()}
            if isinstance(v, list):
                return [money(x) for x in v]
            return format(v, "f") if isinstance(v, Decimal) else v

        out = dict(self._data)
        out["pricing"] = money(out["pricing"])
        return out

    def allocations(self) -> list:
        return []


class CompiledRuleSet:
    def __init__(self, path: Path):
        manifest = yaml.safe_load((path / "ruleset.yaml").read_text("utf-8"))
        self.name = manifest["ruleset"]
        self.version = str(manifest.get("version", ""))
        self.digest = digest_of(path)
        self.path = str(path)
        self.reference: dict[str, list[dict]] = {}
        for p in sorted((path / "reference").glob("*.csv")) if (path / "reference").is_dir() else []:
            with open(p, newline="") as f:
                rows = []
                for row in csv.DictReader(f):
                    conv = {}
                    for k, v in row.items():
                        try:
                            conv[k] = Decimal(v)
                        except Exception:
                            conv[k] = v if v != "" else None
                    rows.append(conv)
                self.reference[p.stem] = rows
        self.rule_ids = ["prices/list", "prices/negotiated", "approvals/deep-discount",
                         "approvals/big-order"]

    def evaluate(self, order: dict, as_of: date | None = None, phases: Any = None,
                 stock: Any = None) -> Decision:
        phases = set(phases or PHASES)
        if as_of is None:
            od = order.get("order_date")
            as_of = date.fromisoformat(od[:10]) if isinstance(od, str) else date(2026, 11, 20)
        prices = {str(r["sku"]): r for r in self.reference.get("prices", [])}
        fired: list[str] = []
        errors: list[dict] = []
        pricing = None
        approvals: list[dict] = []
        if "pricing" in phases:
            pct = (order.get("attributes") or {}).get("manual_discount")
            lines = []
            for i, line in enumerate(order.get("lines") or []):
                qty = Decimal(str(line.get("quantity", 0)))
                row = prices.get(str(line.get("sku")))
                lp = row["unit_price"] if row else (Decimal(str(line["unit_price"]))
                                                    if "unit_price" in line else None)
                if row and "prices/list" not in fired:
                    fired.append("prices/list")
                if lp is None:
                    errors.append({"rule": None, "code": "NO_PRICE",
                                   "message": f"line {i} has no price"})
                    lp = Decimal(0)
                ext = _q(lp * qty)
                adjustments = []
                net = ext
                if pct is not None:
                    if "prices/negotiated" not in fired:
                        fired.append("prices/negotiated")
                    amt = _q(net * Decimal(pct) / 100)
                    adjustments.append({"rule": "prices/negotiated", "kind": "discount",
                                        "amount": -amt, "reason": "negotiated"})
                    net -= amt
                lines.append({"line_id": str(line.get("id", i + 1)), "sku": line.get("sku"),
                              "quantity": qty, "list_price": lp, "extended": ext,
                              "adjustments": adjustments, "net": net, "tax": Decimal("0.00"),
                              "total": net})
            ext_sum = sum((ln["extended"] for ln in lines), Decimal(0))
            sub = sum((ln["net"] for ln in lines), Decimal(0))
            disc = ext_sum - sub
            dpct = (disc / ext_sum * 100).normalize() if ext_sum else Decimal(0)
            pricing = {"currency": order.get("currency", "EUR"), "lines": lines, "charges": [],
                       "recurring": [], "subtotal": _q(sub), "discount_total": _q(disc),
                       "discount_percent": dpct, "charges_total": Decimal("0.00"),
                       "tax_total": Decimal("0.00"), "total": _q(sub)}
            if "approval" in phases and self.name == "c07-approval":
                if dpct > 10:
                    fired.append("approvals/deep-discount")
                    approvals.append({"rule": "approvals/deep-discount", "role": "sales-manager",
                                      "level": 1, "reason": f"discount of {dpct} percent"})
                    if dpct > 25:
                        approvals.append({"rule": "approvals/deep-discount",
                                          "role": "sales-director", "level": 2,
                                          "reason": f"discount of {dpct} percent"})
                if sub >= 10000:
                    fired.append("approvals/big-order")
                    approvals.append({"rule": "approvals/big-order", "role": "finance",
                                      "level": 2, "reason": "large order"})
        status = ("rejected" if errors else "pending_approval" if approvals else "accepted")
        data = {"order_id": order.get("id"), "status": status, "as_of": as_of,
                "ruleset": {"name": self.name, "version": self.version, "digest": self.digest},
                "order": json.loads(dumps(order), parse_float=Decimal, parse_int=Decimal),
                "violations": [], "holds": [], "pricing": pricing,
                "sourcing": None, "approvals": approvals, "fired": fired, "errors": errors}
        return Decision(data, status)


def load(path: str | Path) -> CompiledRuleSet:
    diags = check(path)
    if diags:
        raise RuleSetInvalid(diags)
    return CompiledRuleSet(Path(path))


def validate_order(obj: Any) -> dict:
    if not isinstance(obj, dict):
        raise BadOrder("$", "an order is a JSON object")
    if "id" in obj and not isinstance(obj["id"], (str, Decimal, int)):
        raise BadOrder("$.id", "id must be text or a number")
    for k in ("customer", "ship_to", "payment", "attributes"):
        if k in obj and not isinstance(obj[k], dict):
            raise BadOrder(f"$.{k}", f"{k} must be an object")
    if "lines" in obj:
        if not isinstance(obj["lines"], list):
            raise BadOrder("$.lines", "lines must be a list")
        for i, line in enumerate(obj["lines"]):
            if not isinstance(line, dict):
                raise BadOrder(f"$.lines[{i}]", "a line must be an object")
            for k in ("quantity", "unit_price"):
                if k in line:
                    v = line[k]
                    if isinstance(v, bool) or not isinstance(v, (Decimal, int, str)):
                        raise BadOrder(f"$.lines[{i}].{k}", f"{k} must be a number")
                    if isinstance(v, str):
                        try:
                            Decimal(v)
                        except Exception:
                            raise BadOrder(f"$.lines[{i}].{k}", f"{k} must be a number") from None
    return obj


def parse_order(text: str | bytes) -> dict:
    try:
        obj = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except ValueError as exc:
        raise BadOrder("$", str(exc)) from None
    return validate_order(obj)


def dumps(obj: Any, indent: int | None = None) -> str:
    if isinstance(obj, dict):
        return "{" + ", ".join(json.dumps(str(k)) + ": " + dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in obj) + "]"
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, date):
        return json.dumps(obj.isoformat())
    return json.dumps(obj)


def install() -> None:
    """Put these names on the (still empty) `ordinance.engine` module."""
    import ordinance.engine as target

    for name in ("check", "load", "CompiledRuleSet", "Decision", "Diagnostic", "RuleSetInvalid",
                 "BadOrder", "parse_order", "validate_order", "dumps", "digest_of", "PHASES"):
        setattr(target, name, globals()[name])
    target.FAKE = True  # type: ignore[attr-defined]
