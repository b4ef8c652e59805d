"""Channel revenue management: supplier rebate accruals by period, and ship-and-debit claims.

A rebate programme is a row of the rule set's `rebate_programmes` reference table:
`programme, supplier, period (quarter|month|year), tiers` where tiers is
`FROM_QTY:PERCENT|FROM_QTY:PERCENT|...` (e.g. `0:2|1000:3.5|5000:5`). Each `accrue_rebate`
effect adds a shipment's quantity and amount to the programme's period; the period's rate is
the tier its total quantity has reached, applied to the period's whole amount, so crossing a
tier re-rates everything accrued in the period (the entry records the difference). Amounts
are Decimal, rounded half-up to the cent once per period total, never per shipment, so the
accrual is exact to the cent whatever the order of shipments.

A programme has a `currency` (a column of the table). A shipment whose `accrue_rebate` names
another currency is converted into the programme's with the rule set's dated rates
(engine/fx.py, `reference/fx.csv`), rounded to the programme currency's minor unit, before it
is added; the effect's outcome (the timeline entry's detail) records the shipment's currency and
amount, the rate (`PROGRAMME_PER_USD/SHIPMENT_PER_USD`, exactly as the table gives them) and
the rates' date. Without rates for the pair the accrual is refused with a rule error that says
why; amounts of two currencies are never added as they are.
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ordinance.engine.fx import FxError, rates_of
from ordinance.engine.values import RuleError

from .models_orchestration import DebitClaim, RebateAccrual, RebateEntry
from .store import Invalid

CENT = Decimal("0.01")


def period_of(at: datetime, kind: str) -> str:
    if kind == "month":
        return f"{at.year}-{at.month:02d}"
    if kind == "year":
        return str(at.year)
    return f"{at.year}-Q{(at.month - 1) // 3 + 1}"


def tiers_of(text: Any) -> list[tuple[Decimal, Decimal]]:
    try:
        out = []
        for part in str(text).split("|"):
            q, p = part.split(":")
            out.append((Decimal(q.strip()), Decimal(p.strip())))
    except (ValueError, InvalidOperation):
        raise RuleError(f"rebate tiers {text!r} are not FROM:PERCENT|FROM:PERCENT") from None
    return sorted(out)


def rate_for(tiers: list[tuple[Decimal, Decimal]], quantity: Decimal) -> Decimal:
    rate = Decimal(0)
    for start, pct in tiers:
        if quantity >= start:
            rate = pct
    return rate


def programme(reference: dict[str, Any], pid: str) -> dict[str, Any]:
    for row in reference.get("rebate_programmes") or []:
        if isinstance(row, dict) and str(row.get("programme")) == pid:
            return row
    raise RuleError(f"no rebate programme {pid!r} in reference/rebate_programmes")


def period_key(reference: dict[str, Any], data: dict[str, Any],
               at: datetime) -> tuple[str, str] | None:
    """The accrual row an `accrue_rebate` effect adds to: (programme, period); None when it
    names no programme."""
    pid = data.get("programme")
    if pid is None:
        return None
    prog = programme(reference, str(pid))
    return str(pid), period_of(at, str(prog.get("period") or "quarter"))


def new_accrual(key: tuple[str, str], at: datetime) -> dict[str, Any]:
    return {"programme": key[0], "period": key[1], "quantity": "0", "amount": "0",
            "rate": "0", "accrued": "0.00", "updated_at": at}


def accrue(row: dict[str, Any], reference: dict[str, Any], data: dict[str, Any],
           order_id: str, at: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Adds a shipment to its period's accrual `row` (a dict, changed in place) and re-rates the
    period; returns (what happened, the orch_rebate_entries row)."""
    qty, amount = data.get("quantity"), data.get("amount") or Decimal(0)
    if not isinstance(qty, Decimal) or not isinstance(amount, Decimal):
        raise RuleError("accrue_rebate needs a quantity and an amount that are numbers")
    prog = programme(reference, row["programme"])
    amount, fx = in_programme_currency(reference, prog, amount, data.get("currency"))
    tiers = tiers_of(prog.get("tiers"))
    total_q = Decimal(row["quantity"]) + qty
    total_a = Decimal(row["amount"]) + amount
    rate = rate_for(tiers, total_q)
    accrued = (total_a * rate / 100).quantize(CENT, ROUND_HALF_UP)
    delta = accrued - Decimal(row["accrued"])
    rerated = rate != Decimal(row["rate"]) and Decimal(row["quantity"]) > 0
    row.update(quantity=str(total_q), amount=str(total_a), rate=str(rate),
               accrued=str(accrued), updated_at=at)
    entry = {"programme": row["programme"], "period": row["period"], "order_id": order_id,
             "sku": None if data.get("sku") is None else str(data["sku"]),
             "quantity": str(qty), "amount": str(amount), "rate_after": str(rate),
             "accrued_delta": str(delta), "at": at,
             "shipped_currency": None if fx is None else fx["from"],
             "shipped_amount": None if fx is None else fx["amount"],
             "fx_rate": None if fx is None else fx["rate"],
             "fx_date": None if fx is None else fx["date"]}
    out = {"programme": row["programme"], "period": row["period"], "rate": rate,
           "accrued": accrued, "delta": delta, "rerated": rerated}
    if prog.get("currency") is not None:
        out["currency"] = str(prog["currency"])
    if fx is not None:
        out["converted"] = fx
    return out, entry


def in_programme_currency(reference: dict[str, Any], prog: dict[str, Any], amount: Decimal,
                          currency: Any) -> tuple[Decimal, dict[str, str] | None]:
    """A shipment's amount in its programme's currency, and the conversion made (None when
    none was needed). RuleError when the currencies differ and the rule set's dated rates
    cannot convert between them."""
    target = prog.get("currency")
    if currency is None or target is None or str(currency) == str(target) or not amount:
        return amount, None
    source, target = str(currency), str(target)
    what = (f"a shipment in {source} for rebate programme {prog.get('programme')} in "
            f"{target}")
    try:
        rates = rates_of(reference)
        if rates is None:
            raise FxError("the rule set has no fx table (reference/fx.csv)")
        converted = rates.convert(amount, source, target)
    except FxError as exc:
        raise RuleError(f"{what} cannot be converted: {exc}") from None
    return converted, {"from": source, "amount": str(amount), "to": target,
                       "amount_converted": str(converted),
                       "rate": f"{rates.per_usd[target]}/{rates.per_usd[source]}",
                       "rates": f"{rates.source} of {rates.date}", "date": rates.date}


def claim(data: dict[str, Any], order_id: str, at: datetime) -> dict[str, Any]:
    """The orch_debit_claims row of a `ship_and_debit` effect (amount rounded half-up)."""
    qty, amount = data.get("quantity"), data.get("amount")
    if not isinstance(qty, Decimal) or not isinstance(amount, Decimal):
        raise RuleError("ship_and_debit needs a quantity and an amount that are numbers")
    amount = amount.quantize(CENT, ROUND_HALF_UP)
    return {"agreement": str(data.get("agreement")),
            "supplier": None if data.get("supplier") is None else str(data["supplier"]),
            "order_id": order_id, "sku": None if data.get("sku") is None else str(data["sku"]),
            "quantity": str(qty), "amount": str(amount),
            "currency": None if data.get("currency") is None else str(data["currency"]),
            "state": "open", "at": at}


def accruals(db: Any, programme_id: str | None = None,
             period: str | None = None) -> dict[str, Any]:
    with db.session() as s:
        q = select(RebateAccrual)
        if programme_id:
            q = q.where(RebateAccrual.programme == programme_id)
        if period:
            q = q.where(RebateAccrual.period == period)
        rows = s.scalars(q.order_by(RebateAccrual.programme, RebateAccrual.period)).all()
        items = []
        for r in rows:
            entries = s.scalars(select(RebateEntry).where(
                RebateEntry.programme == r.programme, RebateEntry.period == r.period)
                .order_by(RebateEntry.id)).all()
            items.append({"programme": r.programme, "period": r.period, "quantity": r.quantity,
                          "amount": r.amount, "rate": r.rate, "accrued": r.accrued,
                          "entries": [{"order_id": e.order_id, "sku": e.sku,
                                       "quantity": e.quantity, "amount": e.amount,
                                       "rate_after": e.rate_after,
                                       "accrued_delta": e.accrued_delta,
                                       **_conversion(e)} for e in entries]})
        claims = s.scalars(select(DebitClaim).order_by(DebitClaim.id)).all()
        return {"items": items, "claims": [
            {"id": c.id, "agreement": c.agreement, "supplier": c.supplier,
             "order_id": c.order_id, "sku": c.sku, "quantity": c.quantity, "amount": c.amount,
             "currency": c.currency, "state": c.state} for c in claims]}


def _conversion(e: RebateEntry) -> dict[str, Any]:
    """An entry's currency conversion, shown only where one was made."""
    if e.shipped_currency is None:
        return {}
    return {"converted": {"from": e.shipped_currency, "amount": e.shipped_amount,
                          "rate": e.fx_rate, "date": e.fx_date}}


def check_filters(programme_id: str | None, period: str | None) -> None:
    if period is not None and len(period) > 20:
        raise Invalid("period is like 2026-Q4, 2026-11 or 2026", code="BAD_REQUEST",
                      path="period")
