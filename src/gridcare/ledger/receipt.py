"""收费凭证 — the receipt of a payment as a PDF, the CJK font embedded (a subset of ``RECEIPT_FONT``), built with
reportlab like the service reports (:mod:`gridcare.service.reports`)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

from gridcare.ledger.conf import conf
from gridcare.ledger.models import Entry, Payment
from gridcare.web.display import money

FONT = "GridcareReceipt"


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    path = Path(str(conf("RECEIPT_FONT")))
    if path.is_file():
        pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
        return FONT
    fallback = "STSong-Light"
    if fallback not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(fallback))
    return fallback


def receipt_pdf(payment: Payment) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A5, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14)
    settled = list(
        Entry.objects.filter(allocations_in__credit__payment=payment, allocations_in__amount__gt=0)
        .select_related("bill")
        .distinct()
    )
    parts = dict(
        Entry.objects.filter(payment=payment, kind__in=("payment", "prepayment")).values_list(
            "kind", "amount"
        )
    )
    reversed_ = Entry.objects.filter(payment=payment, kind=Entry.Kind.REVERSAL).exists()
    rows: list[list[Any]] = [
        [
            "凭证号 Receipt no.",
            payment.number,
            "收费日期 Date",
            f"{timezone.localtime(payment.received_at):%Y-%m-%d %H:%M}",
        ],
        ["户号 Account", payment.account.number, "户名 Name", payment.account.name],
        ["金额 Amount", money(payment.amount), "收费方式 Method", payment.get_method_display()],
        [
            "销账 Settled",
            money(-parts.get("payment", Decimal(0))),
            "预收 Prepayment",
            money(-parts.get("prepayment", Decimal(0))),
        ],
        [
            "收费员 Cashier",
            payment.cashier.display_name,
            "渠道流水号 Transaction",
            payment.transaction_id or "—",
        ],
    ]
    data = [[Paragraph(str(v), body) for v in row] for row in rows]
    bills = [[Paragraph("账单 Bill", body), Paragraph("期间 Period", body), Paragraph("类型 Type", body)]] + [
        [
            Paragraph(e.bill.number if e.bill and e.bill.number else "—", body),
            Paragraph(e.bill.period if e.bill else "—", body),
            Paragraph(str(e.get_kind_display()), body),
        ]
        for e in settled
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A5), title=f"收费凭证 {payment.number}")
    story: list[Any] = [Paragraph("电费收费凭证", title), Spacer(1, 8)]
    if reversed_:
        story.append(Paragraph("（已冲正 REVERSED）", body))
    for table_rows in (data, bills):
        table = Table(table_rows, repeatRows=1)
        table.setStyle(
            TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
        )
        story += [table, Spacer(1, 8)]
    story.append(Paragraph(f"打印时间 {timezone.localtime():%Y-%m-%d %H:%M}", body))
    document.build(story)
    return buffer.getvalue()
