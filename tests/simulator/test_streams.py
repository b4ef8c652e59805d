"""streams.py: JSONL lines and CSV rows grouped into orders."""
from __future__ import annotations

from decimal import Decimal

from ordinance.simulator.streams import open_orders

CSV = """\ufefforder_id,order_date,channel,customer_id,customer_tier,ship_to_country,ship_to_region,currency,line_id,sku,quantity,unit_price,attr_coupon,attr_rush,line_uom,warehouse_note
SO-1,2026-11-20,web,00123,gold,DE,eu-central,EUR,1,A-1,5,19.99,TEN,true,EA,"first, row"
SO-1,2026-11-20,web,00123,gold,DE,eu-central,EUR,2,B-2,10,5.00,,,,
SO-2,2026-11-21,edi,C9,,US,us-east,USD,1,C-3,3,0.333,,false,,

SO-3,2026-11-21,,,,,,,,,,,,,,
"""


def test_csv_rows_become_orders(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(CSV.encode())
    items = list(open_orders(str(path)).items())
    assert [line for line, _, _ in items] == [2, 4, 6]
    assert items[-1][2] == path.stat().st_size
    first = items[0][1]
    assert first == {
        "id": "SO-1", "order_date": "2026-11-20", "channel": "web", "currency": "EUR",
        "customer": {"id": "00123", "tier": "gold"},
        "ship_to": {"country": "DE", "region": "eu-central"},
        "attributes": {"coupon": "TEN", "rush": True},
        "warehouse_note": "first, row",
        "lines": [{"id": "1", "sku": "A-1", "quantity": Decimal(5),
                   "unit_price": Decimal("19.99"), "uom": "EA"},
                  {"id": "2", "sku": "B-2", "quantity": Decimal(10),
                   "unit_price": Decimal("5.00")}],
    }
    assert items[1][1]["customer"] == {"id": "C9"}
    assert items[1][1]["attributes"] == {"rush": False}
    assert items[1][1]["lines"][0]["unit_price"] == Decimal("0.333")
    assert items[2][1] == {"id": "SO-3", "order_date": "2026-11-21", "lines": []}


def test_jsonl_keeps_raw_lines_and_skips_blank_ones(tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_bytes(b'{"id": "A"}\n\n{"id": "B"}\nnot json\n')
    source = open_orders(str(path))
    assert source.format == "jsonl" and source.total_bytes == path.stat().st_size
    assert list(source.items()) == [(1, b'{"id": "A"}\n', 12), (3, b'{"id": "B"}\n', 25),
                                    (4, b"not json\n", 34)]
