"""Demo market research, a satisfaction survey and the contractor register, through the real actions: reports
(one with a PDF, one on a prospect and so confidential, one regional), one survey whose sample is drawn from the
customers and partly interviewed (reached with answers, refused, unreachable), and construction and design units
with certificates — one of them expired, so it cannot be given a project."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

from gridcare.keyaccounts.models import Prospect
from gridcare.market.actions import (
    do_add_qualification,
    do_create_survey,
    do_draw_sample,
    do_record_interview,
    do_record_performance,
    do_register_contractor,
    do_write_report,
)
from gridcare.market.models import ResearchReport, SampleEntry
from gridcare.org.models import OrgUnit, User

#: a small, valid PDF (one empty page) standing in for a scanned report
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/MediaBox[0 0 595 842]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

#: (name, kind, credit code first 17, [(type, grade, certificate, from, to)], [(kind, project, rating, text)])
CONTRACTORS: list[
    tuple[str, str, str, list[tuple[str, str, str, int, int]], list[tuple[str, str, int | None, str]]]
] = [
    (
        "示范县电力安装工程有限公司",
        "construction",
        "91331100MA2A00001",
        [("install", "3", "承装(修、试)3-1-00001-2021", -1000, 800)],
        [
            ("project", "城关万达广场10kV配电工程", None, ""),
            ("rating", "城关万达广场10kV配电工程", 5, "按期送电"),
        ],
    ),
    (
        "河西输变电建设有限公司",
        "construction",
        "91331100MA2A00002",
        [("install", "4", "承装(修、试)4-1-00002-2020", -1200, 20)],
        [("complaint", "河西食品厂配电改造", None, "施工现场未设安全围挡")],
    ),
    (
        "山南电力工程有限公司",
        "construction",
        "91331100MA2A00003",
        [("install", "5", "承装(修、试)5-1-00003-2019", -1800, -30)],
        [],
    ),
    (
        "浙西电力设计院有限公司",
        "design",
        "91331100MA2A00004",
        [("design", "B", "A233000001-乙", -600, 1200)],
        [("project", "山南数据中心110kV用户站设计", None, "")],
    ),
]

QUESTIONS = [
    {"kind": "rating", "text": "您对供电可靠性的满意程度"},
    {"kind": "rating", "text": "您对营业厅及95598热线服务的满意程度"},
    {"kind": "choice", "text": "您最常用的缴费方式", "choices": ["网上国网", "银行代扣", "营业厅", "其他"]},
    {"kind": "text", "text": "您的意见和建议"},
]


def _user(username: str, fallback: User) -> User:
    return User.objects.filter(username=username, is_active=True).first() or fallback


def build(actor: User, scale: str) -> Iterator[str]:
    if ResearchReport.objects.exists():
        yield "market: demo research and surveys already present (use --reset to rebuild)"
        return
    today = timezone.localdate()
    sales = _user("sales", actor)
    market = _user("market_manager", actor)
    interviewer = _user("cs_rep", actor)
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=["GC", "CG", "HX", "SNS", "KFB"])}
    company = units.get("GC") or OrgUnit.objects.order_by("path").first()
    assert company is not None
    prospect = Prospect.objects.filter(owner=sales, status="held").order_by("pk").first()
    do_write_report(
        sales,
        title="县域数据中心用电需求调研",
        summary="山南、城关两地拟建数据中心 3 处，预计新增报装容量 2.5 万 kVA，关注双电源与电价政策。",
        body="一、调研对象：云计算与边缘数据中心运营商 5 家。\n二、主要诉求：双回路供电、业扩时限、峰谷电价。\n"
        "三、建议：提前规划山南变电站间隔，组织大客户经理联合走访。",
        industry="data_centre",
        region=units.get("SNS"),
        written_on=today - dt.timedelta(days=20),
        files=[("数据中心调研报告.pdf", DEMO_PDF)],
    )
    if prospect is not None:  # confidential: only the owner and the managers above see it
        do_write_report(
            sales,
            title=f"{prospect.name}用电需求走访纪要",
            summary="客户计划明年二季度投产，负荷以制冷与服务器为主，希望供电方案一次到位。",
            industry=prospect.industry,
            region=prospect.region,
            prospect=prospect,
            written_on=today - dt.timedelta(days=5),
        )
    do_write_report(
        market,
        title="城关供电所辖区商业综合体用电调研",
        summary="辖区商业综合体 12 家，空调负荷占比 45%，峰谷价差扩大后有储能改造意愿。",
        industry="commerce",
        region=units.get("CG"),
        written_on=today - dt.timedelta(days=40),
    )
    yield "market: 3 research reports (one on a prospect, confidential)"
    survey = do_create_survey(
        market,
        title=f"{today.year}年度客户满意度调查",
        period_start=today - dt.timedelta(days=14),
        period_end=today + dt.timedelta(days=16),
        unit=company,
        interview_unit=units.get("KFB") or company,
        questions=QUESTIONS,
        sample_size=60 if scale == "small" else 400,
        seed=20261203,
    )
    survey = do_draw_sample(market, survey)
    entries = list(SampleEntry.objects.filter(survey=survey).order_by("pk"))
    questions = {q.position: q.pk for q in survey.questions.all()}
    ways = ["网上国网", "银行代扣", "营业厅", "其他"]
    made = 0
    for index, entry in enumerate(entries[: max(len(entries) * 2 // 3, 1)]):
        if index % 7 == 5:
            do_record_interview(interviewer, entry, status="refused", note="客户称正忙")
        elif index % 7 == 6:
            do_record_interview(interviewer, entry, status="unreachable", note="电话无人接听")
        else:
            answers = {
                str(questions[1]): 5 - index % 3,
                str(questions[2]): 5 - index % 2,
                str(questions[3]): ways[index % 4],
            }
            if index % 4 == 0:
                answers[str(questions[4])] = "希望停电通知更早一些"
            do_record_interview(interviewer, entry, status="reached", answers=answers)
        made += 1
    yield f"market: survey {survey.number}: {len(entries)} customers drawn of {survey.in_scope:,}, {made} called"
    for name, kind, code17, certificates, records in CONTRACTORS:
        from gridcare.customers.validators import credit_code_check_char

        contractor = do_register_contractor(
            market,
            name=name,
            kind=kind,
            credit_code=code17 + credit_code_check_char(code17),
            contact_name="项目经理",
            contact_phone="0571-88000000",
        )
        for qtype, grade, number, start, end in certificates:
            do_add_qualification(
                market,
                contractor,
                qualification_type=qtype,
                grade=grade,
                certificate_no=number,
                valid_from=today + dt.timedelta(days=start),
                valid_to=today + dt.timedelta(days=end),
            )
        for rkind, project, rating, text in records:
            do_record_performance(
                market,
                contractor,
                kind=rkind,
                project=project,
                happened_on=today - dt.timedelta(days=60),
                rating=rating,
                description=text,
            )
    yield f"market: {len(CONTRACTORS)} contractors (one expired, one expiring within the warning days)"
