"""Billing reports for the billing accountant and finance, set-based (a few GROUP BY queries, never a query per bill):

- **电费发行清单** (bill register): every released bill of a period — filtered by unit, route, customer class — one
  row per bill with its charges by kind, funds, total and due date, and a totals row;
- **售电量、电费汇总** (monthly sales summary): kWh and 元 by customer class, voltage level and unit. Its amounts are
  summed from the **bill lines** and checked against the **released bills' totals**: the difference is the
  reconciliation difference (对账差异) — zero when every released bill's lines add up to its total.

A bill's customer class and voltage level are those of the account's first service point (as the due date's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from gridcare.billing.models import Bill, BillLine
from gridcare.core.access import restrict
from gridcare.customers.models import ServicePoint
from gridcare.readings.models import RouteStop
from gridcare.web.excel import COUNT_FORMAT, KWH_FORMAT, MONEY_FORMAT, ReportColumn, ReportSheet

ZERO = Decimal("0.00")
MILLI = Decimal("0.001")

#: kinds of charges a bill line belongs to, by its code (the engine's line codes: prefixes, exact codes), in the
#: order of the columns
CHARGE_KINDS: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "energy": (gettext_lazy("Energy charge"), ("energy", "tier_surcharge"), ()),
    "basic": (gettext_lazy("Basic charge"), ("basic",), ()),
    "power_factor": (gettext_lazy("Power factor adjustment"), (), ("power_factor",)),
    "other": (gettext_lazy("Other charges"), (), ("fixed", "minimum")),
    "funds": (gettext_lazy("Government funds"), ("fund:",), ()),
    "compensation": (gettext_lazy("Compensation credited"), (), ("compensation",)),
}


def kind_labels() -> list[str]:
    return [str(label) for label, _prefixes, _codes in CHARGE_KINDS.values()]


def _condition(kind: str, path: str = "") -> Q:
    """The lines of ``kind`` (``path``: how the line is reached, e.g. ``lines__`` from its bill)."""
    _label, prefixes, codes = CHARGE_KINDS[kind]
    condition = Q(**{f"{path}code__in": codes}) if codes else Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{path}code__startswith": prefix})
    return condition


def _kind_of_line() -> Case:
    """The kind of a bill line as an SQL expression (lines the kinds do not know count as 'other')."""
    return Case(
        *[When(_condition(kind), then=Value(kind)) for kind in CHARGE_KINDS],
        default=Value("other"),
        output_field=CharField(),
    )


def _first_point(field_name: str, account: str) -> Subquery:
    points = ServicePoint.objects.filter(account=OuterRef(account)).order_by("pk")
    return Subquery(points.values(field_name)[:1])


@dataclass(frozen=True)
class Selection:
    """Which released bills a report covers: a period, optionally a unit (and below), a route, a customer class."""

    period: str
    unit: Any = None  # org.OrgUnit
    route: Any = None  # readings.Route
    customer_class: str = ""

    def bills(self, user: Any) -> QuerySet[Bill]:
        """The released bills of the selection in the user's read scope, with their class, voltage and unit."""
        bills = restrict(Bill.objects.filter(period=self.period, status=Bill.Status.RELEASED), user).annotate(
            customer_class=_first_point("customer_class", "account"),
            voltage=_first_point("voltage_level", "account"),
        )
        if self.unit is not None:
            bills = bills.filter(account__org_unit__path__startswith=self.unit.path)
        if self.route is not None:
            on_route = RouteStop.objects.filter(route=self.route, service_point__account=OuterRef("account"))
            bills = bills.filter(Exists(on_route))
        if self.customer_class:
            bills = bills.filter(**{"customer_class": self.customer_class})  # the annotation above
        return bills


@dataclass(frozen=True)
class Sold:
    """What released bills sold: kWh and 元 (the bills' amounts due)."""

    kwh: Decimal = Decimal(0)
    revenue: Decimal = ZERO

    def __add__(self, other: Sold) -> Sold:
        return Sold(self.kwh + other.kwh, self.revenue + other.revenue)


def sold_by_unit(selection: Selection, user: Any) -> dict[str, Sold]:
    """售电量、售电收入 of the selection's released bills by the path of the account's unit (one GROUP BY) — the
    actual side of the sales plan (its screen and its KPIs): sum the paths under a unit for the unit's figure."""
    sold: dict[str, Sold] = {}
    rows = (
        selection.bills(user)
        .order_by()
        .values_list("account__org_unit__path")
        .annotate(kwh=Coalesce(Sum("energy_kwh"), Decimal(0)), revenue=Coalesce(Sum("total"), ZERO))
    )
    for path, kwh, revenue in rows:
        found = Sold(Decimal(kwh).quantize(MILLI), Decimal(revenue).quantize(ZERO))
        sold[path] = sold.get(path, Sold()) + found
    return sold


def default_report_period() -> str:
    """The month before the current one (local time): the period whose bills were released last."""
    today = timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


# --------------------------------------------------------------------------------------- 电费发行清单 (register)


@dataclass
class RegisterRow:
    number: str
    account: str
    name: str
    customer_class: str
    voltage: str
    unit: str
    kwh: Decimal
    charges: dict[str, Decimal]
    total: Decimal
    due_date: Any


#: a register row's fields of the bill
REGISTER_FIELDS = (
    "number",
    "account__number",
    "account__name",
    "account__org_unit__name",
    "customer_class",
    "voltage",
    "energy_kwh",
    "total",
    "due_date",
)


def register_rows(selection: Selection, user: Any) -> Iterator[RegisterRow]:
    """One row per released bill: the bills in one query, their charges by kind in one more (the lines grouped by
    bill and kind) — no GROUP BY over the bills' own columns, no query per bill."""
    bills = selection.bills(user)
    charges: dict[int, dict[str, Decimal]] = {}
    for bill_id, kind, amount in (
        BillLine.objects.filter(bill__in=bills.values("pk"))
        .annotate(kind=_kind_of_line())
        .order_by()
        .values_list("bill_id", "kind")
        .annotate(amount=Sum("amount"))
    ):
        charges.setdefault(bill_id, dict.fromkeys(CHARGE_KINDS, ZERO))[kind] += Decimal(amount).quantize(ZERO)
    for row in bills.order_by("number").values("pk", *REGISTER_FIELDS).iterator(chunk_size=5000):
        yield RegisterRow(
            number=row["number"] or "",
            account=row["account__number"],
            name=row["account__name"],
            customer_class=class_label(row["customer_class"]),
            voltage=voltage_label(row["voltage"]),
            unit=row["account__org_unit__name"],
            kwh=row["energy_kwh"],
            charges=charges.get(row["pk"], dict.fromkeys(CHARGE_KINDS, ZERO)),
            total=row["total"],
            due_date=row["due_date"],
        )


def class_label(code: str | None) -> str:
    return str(ServicePoint.CustomerClass(code).label) if code in ServicePoint.CustomerClass.values else "—"


def voltage_label(code: str | None) -> str:
    return str(ServicePoint.VoltageLevel(code).label) if code in ServicePoint.VoltageLevel.values else "—"


def register_sheet(selection: Selection, user: Any) -> ReportSheet:
    kinds = [ReportColumn(f"{label}（元）", MONEY_FORMAT, 13) for label in kind_labels()]
    columns = [
        ReportColumn(_("Bill number"), None, 20),
        ReportColumn(_("Account number"), None, 14),
        ReportColumn(_("Account name"), None, 22),
        ReportColumn(_("Customer class"), None, 16),
        ReportColumn(_("Voltage level"), None, 10),
        ReportColumn(_("Supply unit"), None, 14),
        ReportColumn(_("Energy (kWh)"), KWH_FORMAT, 14),
        *kinds,
        ReportColumn(_("Amount due (元)"), MONEY_FORMAT, 14),
        ReportColumn(pgettext("bill", "due date"), None, 12),
    ]
    rows: list[list[Any]] = []
    totals: dict[str, Decimal] = dict.fromkeys(["kwh", "total", *CHARGE_KINDS], Decimal(0))
    for row in register_rows(selection, user):
        rows.append(
            [
                row.number,
                row.account,
                row.name,
                row.customer_class,
                row.voltage,
                row.unit,
                row.kwh,
                *row.charges.values(),
                row.total,
                row.due_date,
            ]
        )
        totals["kwh"] += row.kwh
        totals["total"] += row.total
        for kind, amount in row.charges.items():
            totals[kind] += amount
    total_row = [
        _("Total: %(count)s bills") % {"count": len(rows)},
        "",
        "",
        "",
        "",
        "",
        totals["kwh"],
        *[totals[kind] for kind in CHARGE_KINDS],
        totals["total"],
        "",
    ]
    return ReportSheet(
        title=_("Bill register"),
        columns=columns,
        rows=rows,
        caption=f"{_('Bill register')} {selection.period}{selection_caption(selection)}",
        totals=total_row,
    )


def selection_caption(selection: Selection) -> str:
    parts = [
        str(selection.unit) if selection.unit is not None else "",
        str(selection.route) if selection.route is not None else "",
        class_label(selection.customer_class) if selection.customer_class else "",
    ]
    shown = "，".join(p for p in parts if p)
    return f"（{shown}）" if shown else ""


# ---------------------------------------------------------------------------------- 售电量、电费汇总 (summary)


@dataclass
class SummaryRow:
    customer_class: str
    voltage: str
    unit: str
    bills: int = 0
    kwh: Decimal = Decimal(0)
    charges: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CHARGE_KINDS, ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.charges.values(), ZERO)


@dataclass
class SalesSummary:
    """售电量、电费汇总 of a selection and its reconciliation with the released bills."""

    selection: Selection
    rows: list[SummaryRow]
    released_total: Decimal  # Σ amount due of the released bills (the bills' own totals)
    released_bills: int

    @property
    def kwh(self) -> Decimal:
        return sum((r.kwh for r in self.rows), Decimal(0))

    @property
    def charges(self) -> dict[str, Decimal]:
        return {kind: sum((r.charges[kind] for r in self.rows), ZERO) for kind in CHARGE_KINDS}

    @property
    def total(self) -> Decimal:
        return sum((r.total for r in self.rows), ZERO)

    @property
    def bills(self) -> int:
        return sum(r.bills for r in self.rows)

    @property
    def difference(self) -> Decimal:
        """对账差异 — the summary's total (from the lines) less the released bills' totals; 0 when they agree."""
        return self.total - self.released_total

    @property
    def matches(self) -> bool:
        return self.difference == 0 and self.bills == self.released_bills


def sales_summary(selection: Selection, user: Any) -> SalesSummary:
    """Three set-based queries: bills (count, kWh) and lines (元 by kind) grouped by class, voltage and unit, and the
    released bills' total the summary is checked against."""
    bills = selection.bills(user)
    keys = ("customer_class", "voltage", "account__org_unit__name")
    groups: dict[tuple[Any, ...], SummaryRow] = {}
    for row in bills.order_by().values(*keys).annotate(n=Count("pk"), kwh=Sum("energy_kwh")):
        key = tuple(row[k] for k in keys)
        groups[key] = SummaryRow(
            class_label(row["customer_class"]),
            voltage_label(row["voltage"]),
            row[keys[2]],
            row["n"],
            Decimal(row["kwh"]).quantize(MILLI),  # SQLite sums drop trailing zeros
        )
    lines = (
        BillLine.objects.filter(bill__in=bills.values("pk"))
        .annotate(
            customer_class=_first_point("customer_class", "bill__account"),
            voltage=_first_point("voltage_level", "bill__account"),
            kind=_kind_of_line(),
        )
        .order_by()
        .values("customer_class", "voltage", "bill__account__org_unit__name", "kind")
        .annotate(amount=Sum("amount"))
    )
    for row in lines:
        key = (row["customer_class"], row["voltage"], row["bill__account__org_unit__name"])
        group = groups.setdefault(
            key, SummaryRow(class_label(key[0]), voltage_label(key[1]), key[2])
        )  # a group of lines without its bills would be a difference, shown as such
        group.charges[row["kind"]] += Decimal(row["amount"]).quantize(ZERO)
    released = bills.order_by().aggregate(n=Count("pk"), total=Coalesce(Sum("total"), ZERO))
    ordered = sorted(groups.values(), key=lambda r: (r.customer_class, r.voltage, r.unit))
    return SalesSummary(selection, ordered, released["total"], released["n"])


def check_text(summary: SalesSummary) -> str:
    """The reconciliation in words, as the screen and the Excel show it."""
    if summary.matches:
        return _("Agrees with the released bills' total (%(total)s 元).") % {
            "total": f"{summary.released_total:,.2f}"
        }
    return _(
        "Difference %(difference)s 元: the summary gives %(summary)s 元, the released bills %(released)s 元."
    ) % {
        "difference": f"{summary.difference:,.2f}",
        "summary": f"{summary.total:,.2f}",
        "released": f"{summary.released_total:,.2f}",
    }


def summary_sheet(summary: SalesSummary) -> ReportSheet:
    kinds = [ReportColumn(f"{label}（元）", MONEY_FORMAT, 13) for label in kind_labels()]
    columns = [
        ReportColumn(_("Customer class"), None, 18),
        ReportColumn(_("Voltage level"), None, 10),
        ReportColumn(_("Supply unit"), None, 14),
        ReportColumn(_("Number of bills"), COUNT_FORMAT, 8),
        ReportColumn(_("Energy (kWh)"), KWH_FORMAT, 16),
        *kinds,
        ReportColumn(_("Total (元)"), MONEY_FORMAT, 15),
    ]
    rows = [
        [r.customer_class, r.voltage, r.unit, r.bills, r.kwh, *r.charges.values(), r.total]
        for r in summary.rows
    ]
    totals = [_("Grand total"), "", "", summary.bills, summary.kwh, *summary.charges.values(), summary.total]
    selection = summary.selection
    return ReportSheet(
        title=_("Sales summary"),
        columns=columns,
        rows=rows,
        caption=f"{_('Sales and revenue summary')} {selection.period}{selection_caption(selection)}",
        totals=totals,
        notes=[check_text(summary)],
    )


def reconciliation_difference(bills: QuerySet[Bill]) -> Decimal:
    """对账差异 of released bills: Σ of their lines less Σ of their totals (two aggregates, no grouping)."""
    released = bills.filter(status=Bill.Status.RELEASED)
    lines = BillLine.objects.filter(bill__in=released.values("pk")).aggregate(
        s=Coalesce(Sum("amount"), ZERO)
    )["s"]
    totals = released.order_by().aggregate(s=Coalesce(Sum("total"), ZERO))["s"]
    return Decimal(lines - totals)
