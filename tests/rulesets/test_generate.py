"""The order generator (ordinance.simulator.generate) and `ordinance orders generate`."""
from __future__ import annotations

import collections
import io
import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest
from ordinance.api.cli import main
from ordinance.engine import parse_order, validate_order
from ordinance.simulator.generate import (
    DEFECTS,
    CatalogueError,
    day_counts,
    dumps_order,
    generate_labelled,
    generate_orders,
    load_catalogue,
    write_jsonl,
)

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "rulesets" / "acme"


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return load_catalogue(ACME)


def _text(cat, count: int, seed: int, bad_share: str = "0.05") -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write_jsonl(generate_orders(cat, count, seed, bad_share=bad_share), out)
    return out.getvalue()


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(catalogue) -> None:  # type: ignore[no-untyped-def]
    a = _text(catalogue, 500, 11)
    assert a == _text(catalogue, 500, 11)
    assert a != _text(catalogue, 500, 12)
    assert a.count("\n") == 500


def test_the_generator_owns_its_randomness(catalogue) -> None:  # type: ignore[no-untyped-def]
    import random
    random.seed(1)
    a = _text(catalogue, 100, 5)
    random.seed(2)
    random.random()
    assert _text(catalogue, 100, 5) == a


def test_every_order_is_an_order_the_engine_accepts(catalogue) -> None:  # type: ignore[no-untyped-def]
    for line in _text(catalogue, 1500, 3, bad_share="0.3").splitlines():
        order = parse_order(line)
        assert validate_order(order) is not None
        assert "float" not in {type(v).__name__ for v in _walk(json.loads(line))}


def _walk(x):  # type: ignore[no-untyped-def]
    if isinstance(x, dict):
        for v in x.values():
            yield from _walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from _walk(v)
    else:
        yield x


@pytest.mark.parametrize("share", ["0", "0.05", "0.25"])
def test_bad_share_is_roughly_respected(catalogue, share: str) -> None:  # type: ignore[no-untyped-def]
    labels = [d for _, d in generate_labelled(catalogue, 4000, 9, bad_share=share)]
    bad = sum(d is not None for d in labels) / len(labels)
    assert abs(bad - float(share)) < 0.02
    if share != "0":
        assert set(labels) - {None} == set(DEFECTS)


def test_orders_are_in_date_order_with_one_to_twenty_lines(catalogue) -> None:  # type: ignore[no-untyped-def]
    stamps = []
    for order, defect in generate_labelled(catalogue, 3000, 4, bad_share="0"):
        stamps.append(order["order_date"])
        assert 1 <= len(order["lines"]) <= 20
        assert defect is None
    assert stamps == sorted(stamps)
    assert len({s[:10] for s in stamps}) > 300  # spread over the year


def test_customers_and_products_are_skewed(catalogue) -> None:  # type: ignore[no-untyped-def]
    customers: collections.Counter[str] = collections.Counter()
    products: collections.Counter[str] = collections.Counter()
    for order in generate_orders(catalogue, 5000, 8, bad_share="0"):
        if "id" in order["customer"]:
            customers[order["customer"]["id"]] += 1
        products.update(line["sku"] for line in order["lines"])
    top = sum(n for _, n in customers.most_common(len(catalogue.customers) // 20))
    assert top / sum(customers.values()) > 0.25          # the top 5% of accounts: over a quarter
    top_products = sum(n for _, n in products.most_common(len(catalogue.products) // 20))
    assert top_products / sum(products.values()) > 0.2


def test_peak_days_get_more_orders() -> None:
    import datetime
    counts = day_counts(100_000, datetime.date(2026, 1, 1), 365)
    assert sum(counts) == 100_000
    black_friday = counts[(datetime.date(2026, 11, 27) - datetime.date(2026, 1, 1)).days]
    a_friday_in_august = counts[(datetime.date(2026, 8, 14) - datetime.date(2026, 1, 1)).days]
    assert black_friday > 4 * a_friday_in_august


def test_the_stream_is_lazy(catalogue) -> None:  # type: ignore[no-untyped-def]
    # A billion orders would never fit in memory; taking the first few must still work.
    first = list(itertools.islice(generate_orders(catalogue, 10**9, 1), 3))
    assert [o["id"] for o in first] == ["SO-00000001", "SO-00000002", "SO-00000003"]


def test_money_is_written_as_decimal_text() -> None:
    assert dumps_order({"unit_price": Decimal("12.50")}) == '{"unit_price":"12.50"}'
    with pytest.raises(TypeError):
        dumps_order({"x": object()})


def test_a_rule_set_without_the_tables_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError):
        load_catalogue(tmp_path)


def test_cli_writes_jsonl_to_stdout_and_to_a_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["orders", "generate", "--count", "40", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 40
    target = tmp_path / "o.jsonl"
    assert main(["orders", "generate", "--count", "40", "--seed", "3", "--ruleset", str(ACME),
                 "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == out


def test_cli_progress_bar_goes_to_stderr(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["orders", "generate", "--count", "1200", "--seed", "3", "--progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1200
    assert "generating orders" in captured.err


def test_cli_rejects_a_bad_share_and_a_missing_rule_set(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        main(["orders", "generate", "--count", "5", "--bad-share", "1.5"])
    assert exc.value.code == 2
    assert main(["orders", "generate", "--count", "5", "--ruleset", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err


def test_good_orders_only_name_what_the_reference_data_holds(catalogue) -> None:  # type: ignore[no-untyped-def]
    customers = {c["id"] for c in catalogue.customers}
    skus = {p["sku"] for p in catalogue.products}
    channels = {"web", "store", "call-centre", "edi", "field-sales"}
    for order, defect in generate_labelled(catalogue, 2000, 21, bad_share="0"):
        assert defect is None
        assert order["channel"].lower() in channels
        if "id" in order["customer"]:
            assert order["customer"]["id"] in customers
        else:
            assert order["ship_to"]["country"] and order["customer"]["name"]
        if order["channel"] == "store":
            assert order["store"] in catalogue.stores.values()
        for line in order["lines"]:
            assert line["sku"] in skus
            assert isinstance(line["quantity"], int) and line["quantity"] > 0
