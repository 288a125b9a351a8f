"""电费通知单 — a bill as the customer receives it: a one-page PDF in Chinese with an embedded font.

:func:`bill_notice` gathers what the notice shows (account, period, meter readings, lines, tier progress, TOU split,
funds, power-factor adjustment, balance due, due date, number) with a few queries; :func:`bill_pdf` lays it out.
A bill not released yet is printed with the watermark 草稿 (and a cancelled one 已作废): it may be shown to the
customer on the desk, but it is not a demand for payment — it carries no number and no due date.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.module_loading import import_string

from gridcare.billing.conf import conf
from gridcare.billing.models import Bill, BillLine, price_unit
from gridcare.billing.selectors import Explanation, explain
from gridcare.core.errors import InvalidInput
from gridcare.customers.models import ServicePoint
from gridcare.engine.tariff import PERIOD_LABELS, TariffError, TieredEnergy, TouTieredEnergy
from gridcare.readings.models import MeterRead
from gridcare.tariffs.models import Tariff
from gridcare.tariffs.selectors import engine_tariff
from gridcare.web.display import EMPTY, display, money, number, with_unit
from gridcare.web.excel import attachment

#: watermark of a bill that is not (or no longer) a demand for payment
WATERMARKS: dict[str, str] = {
    Bill.Status.DRAFT: "草稿",
    Bill.Status.REVIEW: "草稿",
    Bill.Status.CANCELLED: "已作废",
}
MILLI = Decimal("0.001")


def balance_due(bill: Bill) -> Decimal:
    """应缴金额 — what the customer is asked to pay with this bill: its total plus what every function named in the
    setting ``BALANCE_PARTS`` adds (dotted paths of ``f(bill) -> Decimal``; the ledger adds arrears and late fees
    there). Without parts it is the bill's total."""
    parts: list[Callable[[Bill], Decimal]] = [import_string(path) for path in conf("BALANCE_PARTS")]
    return bill.total + sum((part(bill) for part in parts), Decimal("0.00"))


@dataclass
class ReadingRow:
    """示数 — one register of one meter in the period: previous and current read, multiplier, kWh."""

    meter: str
    register: str
    previous: Decimal | None
    current: Decimal
    multiplier: int
    quantity: Decimal | None


@dataclass
class LineRow:
    """电费明细 — a line as printed: quantity and unit price from the stored line, or from its explanation where
    the line keeps only the amount (tiers, the power-factor adjustment)."""

    code: str
    label: str
    quantity: Decimal | None
    unit: str
    unit_price: Decimal | None
    amount: Decimal


@dataclass
class TouRow:
    period: str
    kwh: Decimal
    share: Decimal  # 0..1


@dataclass
class BillNotice:
    """What the 电费通知单 of one bill shows, in the customer's terms."""

    bill: Bill
    address: str
    customer_class: str
    voltage: str
    readings: list[ReadingRow]
    lines: list[LineRow]
    tier_basis: str  # "annual" / "monthly" / "" (no tiers)
    tier_thresholds: list[tuple[str, Decimal | None]]  # (tier label, up to kWh; None = no limit)
    tier_before: Decimal
    tier_after: Decimal
    tou: list[TouRow] = field(default_factory=list)
    pf_adjustment: Decimal | None = None  # the rate, e.g. -0.0075
    balance: Decimal = Decimal("0.00")
    watermark: str = ""

    @property
    def period_last_day(self) -> dt.date:
        """The bill period's last day (the stored end is exclusive)."""
        return self.bill.period_end - dt.timedelta(days=1)

    @property
    def funds(self) -> list[LineRow]:
        return [ln for ln in self.lines if ln.code.startswith("fund:")]

    @property
    def current_tier(self) -> str:
        """The tier the bill's last kWh falls in (by the tier year's or the month's consumption)."""
        reached = self.tier_after if self.tier_basis == "annual" else self.tier_after - self.tier_before
        for label, upto in self.tier_thresholds:
            if upto is None or reached <= upto:
                return label
        return EMPTY


def _readings(bill: Bill) -> list[ReadingRow]:
    """The valid reads of the bill's period with the read before each (one query each, not one per register)."""
    reads = list(
        MeterRead.objects.filter(
            service_point__account_id=bill.account_id, period=bill.period, status=MeterRead.Status.VALID
        )
        .select_related("meter")
        .order_by("meter_id", "register", "read_at")
    )
    if not reads:
        return []
    earliest = min(r.read_at for r in reads)
    previous: dict[tuple[int, str], Decimal] = {}
    for meter, register, value in (
        MeterRead.objects.filter(
            meter_id__in={r.meter_id for r in reads},
            read_at__lt=earliest,
            status__in=(MeterRead.Status.VALID, MeterRead.Status.ESTIMATED),
        )
        .order_by("meter_id", "register", "-read_at")
        .values_list("meter_id", "register", "value")
    ):
        previous.setdefault((meter, register), value)
    rows = []
    for read in reads:
        before = previous.get((read.meter_id, read.register))
        if before is None and read.quantity is not None and read.multiplier:
            before = (
                read.value - read.quantity / read.multiplier
            )  # first read here: what it was measured from
        rows.append(
            ReadingRow(
                meter=str(getattr(read.meter, "number", read.meter_id)),
                register=read.get_register_display(),
                previous=before,
                current=read.value,
                multiplier=read.multiplier,
                quantity=read.quantity,
            )
        )
        previous[(read.meter_id, read.register)] = read.value
    return rows


def _tiers(bill: Bill) -> tuple[str, list[tuple[str, Decimal | None]]]:
    """The tier basis and thresholds (kWh) of the bill's tariff in force at the end of its period."""
    tariff = Tariff.objects.filter(code=bill.tariff_code).prefetch_related("versions").first()
    if tariff is None:
        return "", []
    try:
        version = engine_tariff(tariff).version_on(bill.period_end - dt.timedelta(days=1))
    except (InvalidInput, TariffError):  # the tariff cannot say (no version then): the notice shows no tiers
        return "", []
    energy = version.energy
    if not isinstance(energy, (TieredEnergy, TouTieredEnergy)):
        return "", []
    month = (bill.period_end - dt.timedelta(days=1)).month
    return energy.basis, [
        (tier.label, None if (upto := tier.upto[month - 1]) is None else Decimal(upto) * MILLI)
        for tier in energy.tiers
    ]


def _line_rows(lines: list[BillLine], parts: list[tuple[str, Any, Any]]) -> list[LineRow]:
    """The stored lines, completed from the explanation: the quantity summed over its parts, the unit price when
    every part has the same one."""
    quantities: dict[str, Decimal] = {}
    prices: dict[str, set[Decimal]] = {}
    units: dict[str, str] = {}
    for _code, _usage, rated in parts:
        for ln in rated.lines:
            quantities[ln.code] = quantities.get(ln.code, Decimal(0)) + ln.quantity
            prices.setdefault(ln.code, set()).add(ln.unit_price)
            units[ln.code] = ln.unit
    rows = []
    for ln in lines:
        same = prices.get(ln.code, set())
        rows.append(
            LineRow(
                code=ln.code,
                label=ln.label,
                quantity=ln.quantity if ln.quantity is not None else quantities.get(ln.code),
                unit=ln.unit or units.get(ln.code, ""),
                unit_price=ln.unit_price
                if ln.unit_price is not None
                else (next(iter(same)) if len(same) == 1 else None),
                amount=ln.amount,
            )
        )
    return rows


def printed_lines(lines: list[BillLine], parts: list[tuple[str, Any, Any]]) -> list[BillLine]:
    """The bill's lines as the bill page shows them: unsaved copies completed from the explanation (a tier line's
    kWh, a power-factor line's base and rate), so the display layer formats them like any stored line."""
    return [
        BillLine(
            bill_id=line.bill_id,
            sequence=line.sequence,
            code=row.code,
            label=row.label,
            quantity=row.quantity,
            unit=row.unit,
            unit_price=row.unit_price,
            amount=row.amount,
        )
        for line, row in zip(lines, _line_rows(lines, parts), strict=True)
    ]


def bill_notice(bill: Bill) -> BillNotice:
    """Everything the notice of ``bill`` (already resolved in the reader's scope) shows."""
    point = ServicePoint.objects.filter(account_id=bill.account_id).order_by("pk").first()
    lines = list(bill.lines.all())
    stored_only = Explanation([], bill.tier_ytd_kwh, bill.tier_ytd_kwh + bill.energy_kwh, matches=False)
    if bill.kind != Bill.Kind.REGULAR:  # a correcting bill's lines are differences: no usage explains them
        explanation = stored_only
    else:
        try:
            explanation = explain(bill)
        except (InvalidInput, TariffError, KeyError):
            # the catalogue can no longer re-rate the bill: the notice prints its stored lines only
            explanation = stored_only
    tou: dict[str, Decimal] = {}
    for _code, usage, _rated in explanation.parts:
        for period, kwh in usage.energy_kwh.items():
            if period in PERIOD_LABELS:
                tou[period] = tou.get(period, Decimal(0)) + Decimal(str(kwh))
    tou_total = sum(tou.values(), Decimal(0))
    basis, thresholds = _tiers(bill)
    rows = _line_rows(lines, explanation.parts)
    pf_line = next((ln for ln in rows if ln.code == "power_factor"), None)
    return BillNotice(
        bill=bill,
        address=point.address if point else "",
        customer_class=point.get_customer_class_display() if point else "",
        voltage=point.get_voltage_level_display() if point else "",
        readings=_readings(bill),
        lines=rows,
        tier_basis=basis,
        tier_thresholds=thresholds,
        tier_before=explanation.tier_before,
        tier_after=explanation.tier_after,
        tou=[
            TouRow(str(PERIOD_LABELS[p]), kwh, kwh / tou_total if tou_total else Decimal(0))
            for p, kwh in sorted(tou.items(), key=lambda item: list(PERIOD_LABELS).index(item[0]))
        ],
        pf_adjustment=pf_line.unit_price if pf_line is not None else None,
        balance=balance_due(bill),
        watermark=WATERMARKS.get(bill.status, ""),
    )


# ------------------------------------------------------------------------------------------------------ the PDF


def _kwh(value: Decimal | None) -> str:
    return EMPTY if value is None else with_unit(value, "kWh")


def _read(value: Decimal | None) -> str:
    return EMPTY if value is None else number(value, 2)


def _line_row(line: LineRow) -> list[str]:
    quantity = (
        EMPTY
        if line.quantity is None
        else with_unit(line.quantity, line.unit)
        if line.unit
        else number(line.quantity)
    )
    unit_price = EMPTY if line.unit_price is None else with_unit(line.unit_price, price_unit(line.unit))
    return [line.label, quantity, unit_price, money(line.amount)]


def _tier_text(notice: BillNotice) -> str:
    if not notice.tier_thresholds:
        return "本户电价不执行阶梯电价"
    limits = "，".join(
        f"{label} ≤ {upto.normalize():,f} kWh" if upto is not None else f"{label}以上"
        for label, upto in notice.tier_thresholds
    )
    if notice.tier_basis == "annual":
        return (
            f"年度阶梯：本年累计 {_kwh(notice.tier_after)}（本期前 {_kwh(notice.tier_before)}），"
            f"当前处于{notice.current_tier}；档位：{limits}"
        )
    return f"月度阶梯：本月 {_kwh(notice.tier_after - notice.tier_before)}，处于{notice.current_tier}；档位：{limits}"


def _watermark(text: str) -> Callable[[Any, Any], None]:
    from reportlab.lib import colors

    from gridcare.web.pdf import cjk_font

    def draw(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(cjk_font(), 96)
        canvas.setFillColor(colors.Color(0.85, 0.2, 0.2, alpha=0.18))
        width, height = document.pagesize
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        canvas.drawCentredString(0, -30, text)
        canvas.restoreState()

    return draw


def bill_pdf(bill: Bill) -> bytes:
    """The 电费通知单 of ``bill`` as PDF bytes (A4, Chinese, embedded font; 草稿 watermark before release)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    from gridcare.web.pdf import cjk_font, grid_style, styles

    notice = bill_notice(bill)
    font = cjk_font()
    st = styles(font)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"电费通知单 {bill.account.number} {bill.period}",
        author="gridcare",
    )
    width = A4[0] - 30 * mm

    def table(rows: list[list[Any]], widths: list[float], *extra: Any, header: bool = True) -> Table:
        cells = [[c if not isinstance(c, str) else Paragraph(c, st["body"]) for c in row] for row in rows]
        result = Table(cells, colWidths=[w * width for w in widths], repeatRows=1 if header else 0)
        result.setStyle(grid_style(*extra, header=header))
        return result

    def right(text: str) -> Paragraph:
        return Paragraph(text, st["right"])

    released = bill.status == Bill.Status.RELEASED
    head = [
        ["户号", bill.account.number, "户名", bill.account.name],
        ["用电地址", notice.address or EMPTY, "电费年月", bill.period],
        ["用电类别", notice.customer_class or EMPTY, "电压等级", notice.voltage or EMPTY],
        [
            "计费周期",
            f"{bill.period_start:%Y-%m-%d} 至 {notice.period_last_day:%Y-%m-%d}",
            "电价",
            bill.tariff_code,
        ],
        [
            "账单编号",
            bill.number or "（未发行）",
            "缴费截止日",
            display(bill.due_date) if released else "（未发行）",
        ],
    ]
    story: list[Any] = [
        Paragraph("电费通知单", st["title"]),
        Spacer(1, 4),
        table(head, [0.14, 0.36, 0.14, 0.36], header=False),
        Paragraph("抄表示数", st["heading"]),
    ]
    reads: list[list[Any]] = [["电能表", "示数类型", "上次示数", "本次示数", "倍率", "电量"]]
    reads += [
        [
            r.meter,
            r.register,
            right(_read(r.previous)),
            right(_read(r.current)),
            right(str(r.multiplier)),
            right(_kwh(r.quantity)),
        ]
        for r in notice.readings
    ] or [["—", "—", "—", "—", "—", "—"]]
    story.append(table(reads, [0.2, 0.16, 0.16, 0.16, 0.1, 0.22]))
    story.append(Paragraph("电费明细", st["heading"]))
    lines: list[list[Any]] = [["项目", "数量", "单价", "金额"]]
    lines += [[ln[0], right(ln[1]), right(ln[2]), right(ln[3])] for ln in map(_line_row, notice.lines)]
    lines += [["本期电费合计", "", "", right(money(bill.total))]]
    story.append(table(lines, [0.4, 0.2, 0.2, 0.2], ("SPAN", (0, -1), (2, -1))))
    story.append(Paragraph("用电情况", st["heading"]))
    usage: list[list[Any]] = [
        ["项目", "内容"],
        ["本期电量", _kwh(bill.energy_kwh)],
        ["阶梯电量", _tier_text(notice)],
    ]
    if notice.tou:
        usage.append(
            [
                "分时电量（尖峰平谷）",
                "；".join(f"{t.period} {_kwh(t.kwh)}（{t.share * 100:.1f} %）" for t in notice.tou),
            ]
        )
    if bill.power_factor is not None:
        rate = notice.pf_adjustment
        shown = (
            f"，调整 {'+' if rate and rate > 0 else ''}{with_unit(rate, 'rate')}" if rate is not None else ""
        )
        usage.append(["功率因数", f"{bill.power_factor}{shown}"])
    funds = "；".join(f"{ln.label} {money(ln.amount)}" for ln in notice.funds)
    usage.append(
        ["政府性基金及附加", f"{funds}（合计 {money(bill.funds)}）" if funds else "—（已含在电价中）"]
    )
    story.append(table(usage, [0.22, 0.78]))
    story.append(Spacer(1, 6))
    due: list[list[Any]] = [
        ["本期电费", right(money(bill.total)), "应缴金额", right(money(notice.balance))],
        [
            "缴费截止日",
            display(bill.due_date) if released else "（未发行）",
            "打印时间",
            f"{timezone.localtime():%Y-%m-%d %H:%M}",
        ],
    ]
    story.append(table(due, [0.18, 0.32, 0.18, 0.32], ("FONTSIZE", (0, 0), (-1, 0), 11), header=False))
    story.append(Spacer(1, 6))
    story.append(
        Paragraph(
            "请在缴费截止日前缴清电费，逾期将按《供电营业规则》收取电费违约金。如对本通知单有疑问，请致电 95598。",
            st["small"],
        )
    )
    on_page = _watermark(notice.watermark) if notice.watermark else (lambda canvas, doc: None)
    document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def pdf_response(bill: Bill) -> HttpResponse:
    """The notice as a download named ``电费通知单_<户号>_<period>.pdf`` (ASCII fallback ``bill-…``)."""
    response = HttpResponse(bill_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = attachment(
        f"电费通知单_{bill.account.number}_{bill.period}.pdf", f"bill-{bill.account.number}-{bill.period}.pdf"
    )
    return response
