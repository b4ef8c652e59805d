"""docs/why.md's walkthrough is what `ordinance why` prints: the order of the support question
decided as the log would hold it, answered under its own rule set, and every line of the page's
first example (but the elided ones) found in the command's text, in order."""
from __future__ import annotations

import datetime
from pathlib import Path

from ordinance import engine
from ordinance.api.cmd_why import render
from ordinance.api.usecases.why import Logged, answer_for
from ordinance.engine import codec

ROOT = Path(__file__).resolve().parents[2]


def test_the_walkthrough_is_what_the_command_prints() -> None:
    rs = engine.load(ROOT / "rulesets" / "acme")
    day = datetime.date(2026, 5, 4)
    order = engine.validate_order({
        "id": "SO-4711", "channel": "call-centre", "customer": {"id": "C-00060"},
        "payment": {"method": "invoice"},
        "attributes": {"promo_code": "SPRING26", "manual_discount": 28},
        "lines": [{"id": "1", "sku": "HTL-0001", "quantity": 40},
                  {"id": "2", "sku": "JAN-0001", "quantity": 15}]})
    logged = codec.loads(codec.dumps(rs.evaluate(order, day).to_json()))
    out = render(answer_for(Logged("dec_01JDW4R9", "decide", order, day, rs.name, rs.digest,
                                   logged), rs, day))
    page = (ROOT / "docs" / "why.md").read_text()
    block = page.split("$ ordinance why dec_01JDW4R9\n", 1)[1].split("```", 1)[0]
    at = 0
    for line in block.splitlines():
        if line.strip().endswith("..."):
            line = line.rstrip(". ")
        found = out.find(line, at)
        assert found >= 0, f"not printed (in order): {line!r}\n{out}"
        at = found + len(line)
