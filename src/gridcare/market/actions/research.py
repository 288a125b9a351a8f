"""Market research reports (市场调研报告) and their attachments."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.files.base import ContentFile

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput, NotFound
from gridcare.core.numbering import Counter, next_number
from gridcare.keyaccounts.models import Industry, Prospect
from gridcare.keyaccounts.selectors import visible_prospects
from gridcare.market.conf import conf
from gridcare.market.models import ReportAttachment, ResearchReport
from gridcare.market.selectors import report_in_scope, search_key
from gridcare.org.models import OrgUnit, User

REPORT_NUMBERS = Counter("research_report", "market_report_number_seq")
REPORT_FIELDS = [
    "number",
    "title",
    "summary",
    "industry",
    "region_id",
    "prospect_id",
    "author_id",
    "written_on",
]

#: the first bytes of each accepted type: PDF, the Office Open XML zip, the older OLE compound file
MAGIC = {
    "pdf": (b"%PDF-",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
}


def check_attachment(name: str, content: bytes) -> tuple[str, str]:
    """(extension, content type) of an upload, or the refusal naming the file and why: only PDF, Word and
    Excel (by extension *and* by content), not empty, not above ``ATTACHMENT_MAX_BYTES``."""
    types: dict[str, str] = conf("ATTACHMENT_TYPES")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    limit = int(conf("ATTACHMENT_MAX_BYTES"))
    if extension not in types:
        allowed = "、".join(sorted(types))
        raise InvalidInput(
            {
                "files": f"附件「{name}」的类型不允许，只接受 {allowed}。 (File type not accepted: {allowed} only.)"
            }
        )
    if not content:
        raise InvalidInput({"files": f"附件「{name}」是空文件。 (The file is empty.)"})
    if len(content) > limit:
        raise InvalidInput(
            {
                "files": f"附件「{name}」大小 {len(content) / 1048576:.1f} MB，超过上限 {limit / 1048576:.0f} MB。 "
                f"(The file is larger than the limit.)"
            }
        )
    if not content.startswith(MAGIC.get(extension, (b"",))):
        raise InvalidInput(
            {
                "files": f"附件「{name}」的内容不是 {extension.upper()} 文件。 "
                f"(The content is not a {extension} file.)"
            }
        )
    return extension, types[extension]


def _store(actor: User, report: ResearchReport, name: str, content: bytes) -> ReportAttachment:
    extension, content_type = check_attachment(name, content)
    attachment = ReportAttachment(
        report=report,
        name=name[:200],
        extension=extension,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(f"{attachment.sha256[:16]}.{extension}", ContentFile(content), save=False)
    attachment.save()
    return attachment


def clean_report(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = str(data.get("title") or "").strip()
    summary = str(data.get("summary") or "").strip()
    if not title:
        errors["title"] = "请填写标题。 (A title is required.)"
    elif len(title) > 120:
        errors["title"] = "标题最长 120 个字符。 (At most 120 characters.)"
    if not summary:
        errors["summary"] = "请填写摘要。 (A summary is required.)"
    elif len(summary) > 2000:
        errors["summary"] = "摘要最长 2000 个字符。 (At most 2000 characters.)"
    industry = data.get("industry") or ""
    if industry and industry not in Industry.values:
        errors["industry"] = "行业不存在。 (Unknown industry.)"
    region = data.get("region")
    if region is not None and not isinstance(region, OrgUnit):
        errors["region"] = "区域不存在。 (Unknown region.)"
    written_on = data.get("written_on")
    if not isinstance(written_on, dt.date):
        errors["written_on"] = "请填写报告日期。 (A report date is required.)"
    prospect = data.get("prospect")
    if prospect is not None:
        pk = prospect.pk if isinstance(prospect, Prospect) else prospect
        prospect = visible_prospects(actor).filter(pk=pk).first()
        if prospect is None:  # confidentiality: an unknown or invisible prospect alike
            errors["prospect"] = "未找到该备案客户，或不在您的数据范围内。 (Prospect not found.)"
    if errors:
        raise InvalidInput(errors)
    return {
        "title": title,
        "summary": summary,
        "body": str(data.get("body") or "").strip(),
        "industry": industry,
        "region": region,
        "prospect": prospect,
        "written_on": written_on,
    }


@action("market.write_report", permission="research.write")
def do_write_report(
    actor: User, *, files: list[tuple[str, bytes]] | None = None, **data: Any
) -> ResearchReport:
    """撰写市场调研报告 — title, summary, body, tags (industry, region, prospect) and documents; every file is
    checked before anything is stored, so a bad one leaves no report behind."""
    values = clean_report(actor, data)
    for name, content in files or []:
        check_attachment(name, content)
    if actor.org_unit_id is None:
        raise InvalidInput({"author": "您未归属任何单位。 (You belong to no unit.)"})
    report = ResearchReport(
        number=next_number(REPORT_NUMBERS, ResearchReport, "DY", 8),
        author=actor,
        unit_id=actor.org_unit_id,
        **values,
    )
    report.search_text = search_key(report)
    report.save()
    for name, content in files or []:
        _store(actor, report, name, content)
    audit.record(
        actor,
        "market.write_report",
        report,
        after={**audit.snapshot(report, REPORT_FIELDS), "files": [n for n, _c in files or []]},
    )
    return report


@action("market.add_attachment", permission="research.write")
def do_add_attachment(
    actor: User, report: ResearchReport | int, *, name: str, content: bytes
) -> ReportAttachment:
    """Add a document to a report the actor wrote (or may read, as a manager of its region's research)."""
    pk = report.pk if isinstance(report, ResearchReport) else report
    try:
        found = report_in_scope(actor, pk)
    except NotFound:
        raise
    attachment = _store(actor, found, name, content)
    audit.record(
        actor,
        "market.add_attachment",
        found,
        after={"file": attachment.name, "size": attachment.size, "sha256": attachment.sha256},
    )
    return attachment
