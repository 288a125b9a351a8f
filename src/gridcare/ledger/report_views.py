"""The ledger's report screens (报表): arrears aging (账龄), collection rate (电费回收率), the cashier daily report
(收费日报) and the key accounts' bad-debt rate (坏账率) — each a table with filters (period, unit) and its Excel
download (``?export=xlsx``: frozen shaded header, 元 #,##0.00, totals row). Figures from
:mod:`gridcare.ledger.reports`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridcare.core.requests import StaffHttpRequest
from gridcare.core.scoped import ALL, ScopedForm
from gridcare.ledger import reports
from gridcare.org.models import OrgUnit
from gridcare.web.excel import COUNT_FORMAT, MONEY_FORMAT, ReportColumn, ReportSheet, report_response
from gridcare.web.views import StaffMixin

PERCENT_FORMAT = '0.0"%"'
DATE = forms.DateInput(attrs={"type": "date"})


class ReportFilterForm(ScopedForm):
    """Which day (as of) or days (from–to) and which unit the report covers."""

    first = forms.DateField(label=_("From"), required=False, widget=DATE)
    last = forms.DateField(label=_("To"), required=False, widget=DATE)
    day = forms.DateField(label=_("As of"), required=False, widget=DATE)
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        queryset=OrgUnit.objects.filter(kind__in=["company", "branch", "station"]).order_by("path"),
        required=False,
        empty_label=ALL,
    )
    by = forms.ChoiceField(
        label=_("Group by"),
        required=False,
        choices=[("klass", _("Customer class")), ("unit", _("Unit")), ("manager", _("Account manager"))],
    )
    per = forms.ChoiceField(
        label=_("Per"), required=False, choices=[("month", _("Month")), ("day", _("Calendar day"))]
    )

    def __init__(self, *args: Any, fields: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in fields:
                del self.fields[name]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        first, last = data.get("first"), data.get("last")
        if first and last and first > last:
            self.add_error("last", _("The end date is before the start date."))
        if last and last > today or data.get("day") and data["day"] > today:
            self.add_error(
                "last" if last and last > today else "day", _("A date in the future has no figures.")
            )
        if first and last and (last - first).days > 3660:
            self.add_error("first", _("At most ten years at once."))
        return data


def _text(value: Any, fmt: str | None) -> str:
    if value is None:
        return "—"
    if fmt == MONEY_FORMAT and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if fmt == PERCENT_FORMAT:
        return f"{value}%"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


class ReportView(StaffMixin, View):
    """One report: ``fields`` of the filter form, ``build(data) -> (caption, columns, rows, totals, notes)``."""

    permission: str | tuple[str, ...] | None = "report.view"
    request: StaffHttpRequest
    title: Any = ""
    slug = "report"
    fields: Sequence[str] = ("day", "unit")

    def defaults(self) -> dict[str, str]:
        today = timezone.localdate()
        return {
            "day": today.isoformat(),
            "first": today.replace(day=1).isoformat(),
            "last": today.isoformat(),
            "by": "klass",
            "per": "month",
        }

    def build(
        self, data: dict[str, Any]
    ) -> tuple[str, list[ReportColumn], list[list[Any]], list[Any], list[str]]:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        params = request.GET.copy()
        for key, value in self.defaults().items():
            if key in self.fields and not params.get(key):
                params[key] = value
        form = ReportFilterForm(params, user=self.request.user, fields=self.fields)
        context: dict[str, Any] = {"title": self.title, "form": form}
        if not form.is_valid():
            return render(request, "ledger/report.html", context, status=400)
        caption, columns, rows, totals, notes = self.build(form.cleaned_data)
        if request.GET.get("export") == "xlsx":
            sheet = ReportSheet(str(self.title), columns, rows, caption=caption, totals=totals, notes=notes)
            return report_response(f"{self.title}_{timezone.localdate():%Y%m%d}", self.slug, [sheet])
        formats = [c.number_format for c in columns]
        query = urlencode([(k, v) for k, v in params.items() if k != "export" and k in self.fields])
        context.update(
            caption=caption,
            headers=[c.header for c in columns],
            rows=[[(_text(v, f), f is not None) for v, f in zip(row, formats, strict=False)] for row in rows],
            totals=[(_text(v, f), f is not None) for v, f in zip(totals, formats, strict=False)],
            notes=notes,
            query=query,
        )
        return render(request, "ledger/report.html", context)


def _money(header: Any) -> ReportColumn:
    return ReportColumn(str(header), MONEY_FORMAT, 14)


def _unit_caption(data: dict[str, Any]) -> str:
    return f" · {data['unit'].name}" if data.get("unit") else ""


class AgingView(ReportView):
    """账龄 — open arrears by days overdue per customer class, unit or account manager."""

    title = _("Arrears aging")
    slug = "arrears-aging"
    fields = ("day", "unit", "by")

    def build(
        self, data: dict[str, Any]
    ) -> tuple[str, list[ReportColumn], list[list[Any]], list[Any], list[str]]:
        by = data.get("by") or "klass"
        report = reports.aging(self.request.user, data["day"], by=by, unit=data.get("unit"))
        group = {"klass": _("Customer class"), "unit": _("Unit"), "manager": _("Account manager")}[by]
        columns = [
            ReportColumn(str(group), None, 22),
            ReportColumn(str(_("Accounts in arrears")), COUNT_FORMAT, 10),
            _money(_("Not yet due (元)")),
            *[_money(f"{label}（元）") for label in report.labels],
            _money(_("Arrears (元)")),
        ]
        assert report.total is not None
        caption = f"{self.title} · {data['day']:%Y-%m-%d}{_unit_caption(data)}"
        notes = [
            str(_("Days overdue = the day − the bill's due date; open amounts as they stood that evening."))
        ]
        return caption, columns, [r.cells for r in report.rows], report.total.cells, notes


class CollectionView(ReportView):
    """电费回收率 — billed and collected by day or month."""

    title = _("Electricity bill collection rate")
    slug = "collection-rate"
    fields = ("first", "last", "unit", "per")

    def build(
        self, data: dict[str, Any]
    ) -> tuple[str, list[ReportColumn], list[list[Any]], list[Any], list[str]]:
        per = data.get("per") or "month"
        rows, total = reports.collection(
            self.request.user, data["first"], data["last"], per=per, unit=data.get("unit")
        )
        columns = [
            ReportColumn(str(_("Month") if per == "month" else _("Calendar day")), None, 12),
            ReportColumn(str(_("Number of bills")), COUNT_FORMAT, 10),
            _money(_("Billed (元)")),
            _money(_("Collected (元)")),
            ReportColumn(str(_("Electricity bill collection rate")), PERCENT_FORMAT, 12),
        ]
        caption = f"{self.title} · {data['first']:%Y-%m-%d} – {data['last']:%Y-%m-%d}{_unit_caption(data)}"
        notes = [
            str(_("Collection rate = the part of the bills posted in the period settled so far ÷ billed."))
        ]
        return caption, columns, [r.cells for r in rows], total.cells, notes


class CashierReportView(ReportView):
    """收费日报 — per day, cashier and method or channel: payments, reversals, net, close status."""

    title = _("Cashier daily report")
    slug = "cashier-daily"
    permission = ("report.view", "payment.post")
    fields = ("first", "last", "unit")

    def defaults(self) -> dict[str, str]:
        values = super().defaults()
        values["first"] = values["last"]
        return values

    def build(
        self, data: dict[str, Any]
    ) -> tuple[str, list[ReportColumn], list[list[Any]], list[Any], list[str]]:
        rows, total = reports.cashier_report(self.request.user, data["first"], data["last"], data.get("unit"))
        columns = [
            ReportColumn(str(_("Business date")), "yyyy-mm-dd", 12),
            ReportColumn(str(_("Cashier")), None, 14),
            ReportColumn(str(_("Payment method or channel")), None, 16),
            ReportColumn(str(_("Number of payments")), COUNT_FORMAT, 10),
            _money(_("Amount taken (元)")),
            ReportColumn(str(_("Number of reversals")), COUNT_FORMAT, 10),
            _money(_("Reversed (元)")),
            _money(_("Net (元)")),
            ReportColumn(str(_("Daily close")), None, 18),
        ]
        caption = f"{self.title} · {data['first']:%Y-%m-%d} – {data['last']:%Y-%m-%d}{_unit_caption(data)}"
        totals = total.cells
        totals[0] = str(_("Total"))
        totals[1] = ""
        return caption, columns, [r.cells for r in rows], totals, []


class BadDebtView(ReportView):
    """坏账率 — key accounts per account manager."""

    title = _("Key-account bad-debt rate")
    slug = "bad-debt"
    fields = ("day", "unit")

    def build(
        self, data: dict[str, Any]
    ) -> tuple[str, list[ReportColumn], list[list[Any]], list[Any], list[str]]:
        rows, total = reports.bad_debt(self.request.user, data["day"], data.get("unit"))
        days = reports.conf("BAD_DEBT_DAYS")
        columns = [
            ReportColumn(str(_("Account manager")), None, 16),
            ReportColumn(str(_("Key accounts")), COUNT_FORMAT, 10),
            _money(_("Billed (元)")),
            _money(_("Written off (元)")),
            _money(f"{_('Arrears over')} {days} 天（元）"),
            ReportColumn(str(_("Bad-debt rate")), PERCENT_FORMAT, 12),
        ]
        caption = f"{self.title} · {data['day']:%Y-%m-%d}{_unit_caption(data)}"
        notes = [
            str(_("Bad-debt rate = (written off + arrears overdue beyond the limit) ÷ everything billed."))
        ]
        return caption, columns, [r.cells for r in rows], total.cells, notes
