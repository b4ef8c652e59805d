"""docs/why.md's walkthroughs are what `ordinance why` prints: the order of each support
question decided as the log would hold it, answered under its own rule set, and every line of
the page's example (but the elided ones) found in the command's text, in order."""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any

from ordinance import engine
from ordinance.api.cmd_why import render
from ordinance.api.usecases.why import Logged, answer_for
from ordinance.engine import codec

ROOT = Path(__file__).resolve().parents[2]


def _printed(rs: Any, order: dict[str, Any], day: datetime.date, decision_id: str) -> None:
    order = engine.validate_order(order)
    logged = codec.loads(codec.dumps(rs.evaluate(order, day).to_json()))
    out = render(answer_for(Logged(decision_id, "decide", order, day, rs.name, rs.digest,
                                   logged), rs, day))
    page = (ROOT / "docs" / "why.md").read_text()
    block = page.split(f"$ ordinance why {decision_id}\n", 1)[1].split("```", 1)[0]
    at = 0
    for line in block.splitlines():
        if line.strip().endswith("..."):
            line = line.rstrip(". ")
        found = out.find(line, at)
        assert found >= 0, f"not printed (in order): {line!r}\n{out}"
        at = found + len(line)


def test_the_walkthrough_is_what_the_command_prints() -> None:
    _printed(engine.load(ROOT / "rulesets" / "acme"), {
        "id": "SO-4711", "channel": "call-centre", "customer": {"id": "C-00060"},
        "payment": {"method": "invoice"},
        "attributes": {"promo_code": "SPRING26", "manual_discount": 28},
        "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 40},
                  {"id": "2", "sku": "JAN-0001", "quantity": 15}]},
        datetime.date(2026, 5, 4), "dec_01JDW4R9")


def test_the_category_question_is_what_the_command_prints() -> None:
    _printed(engine.load(ROOT / "rulesets" / "acme"), {
        "id": "SO-5120", "channel": "call-centre", "customer": {"id": "C-00008"},
        "payment": {"method": "invoice"}, "attributes": {"promo_code": "SPRING26"},
        "lines": [{"id": "1", "sku": "PTL-0003", "quantity": 2},
                  {"id": "2", "sku": "HTL-0001", "quantity": 10}]},
        datetime.date(2026, 4, 14), "dec_01JDX0C2")


def test_the_per_line_approval_question_is_what_the_command_prints(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    shutil.copytree(ROOT / "rulesets" / "acme", root)
    shutil.copy(ROOT / "tests" / "engine" / "why_packs" / "65-line-approvals.yaml",
                root / "packs")
    _printed(engine.load(root), {
        "id": "SO-5200", "channel": "call-centre", "customer": {"id": "C-00060"},
        "payment": {"method": "card"},
        "lines": [{"id": "1", "sku": "JAN-0001", "quantity": 600},
                  {"id": "2", "sku": "PTL-0003", "quantity": 80}]},
        datetime.date(2026, 11, 20), "dec_01JDX1F7")
