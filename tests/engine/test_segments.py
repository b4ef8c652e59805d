"""engine/segments.py: reports file the decided order, the channel in the rule set's spelling."""
from __future__ import annotations

from ordinance.engine.segments import Segmenter

CHANNELS = {"channels": [{"code": "web"}, {"code": "call-centre"}, {"code": "EDI"}]}


def test_channel_takes_the_rule_sets_code_whatever_the_case():
    seg = Segmenter(CHANNELS)
    assert [seg.channel(v) for v in ("WEB", " Web ", "web", "Call-Centre", "edi")] == [
        "web", "web", "web", "call-centre", "EDI"]
    assert seg.channel("shop") == "shop"       # a channel the table does not list stays
    assert seg.channel("") is None and seg.channel(None) is None
    assert Segmenter().channel("WEB") == "WEB"  # without a table, as the packs left it


def test_of_reads_channel_country_and_tier():
    seg = Segmenter(CHANNELS)
    order = {"channel": "WEB", "ship_to": {"country": "DE"}, "customer": {"tier": "gold"}}
    assert seg.of(order) == {"channel": "web", "country": "DE", "tier": "gold"}
    assert seg.of({"ship_to": "DE", "customer": None}) == {"channel": None, "country": None,
                                                           "tier": None}
