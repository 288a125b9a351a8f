"""满意度调查: a sample drawn from the data (stratified by unit and customer class, reproducible, excluding those
called recently), answers by phone (reached / refused / unreachable), results by unit (response rate, average
score, distribution), coverage as the market manager's KPI, Excel export, the CLI — and bad input refused."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from openpyxl import load_workbook

from gridcare.core.errors import Conflict, InvalidInput
from gridcare.market.actions import do_close_survey, do_create_survey, do_draw_sample, do_record_interview
from gridcare.market.models import Answer, SampleEntry, Survey
from gridcare.market.selectors import survey_results
from gridcare.org.models import OrgUnit
from gridcare.web.workbench import Month
from tests.days import today

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"kind": "rating", "text": "供电可靠性"},
    {"kind": "choice", "text": "缴费方式", "choices": ["网上国网", "银行代扣"]},
    {"kind": "text", "text": "意见"},
]


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def survey(staff, **extra) -> Survey:
    data = {
        "title": "年度满意度调查",
        "period_start": today() - dt.timedelta(days=3),
        "period_end": today() + dt.timedelta(days=20),
        "unit": OrgUnit.objects.get(code="CD"),
        "interview_unit": OrgUnit.objects.get(code="KFB"),
        "questions": QUESTIONS,
        "sample_size": 20,
        "seed": 42,
    }
    data.update(extra)
    return do_create_survey(staff("market_manager"), **data)


@pytest.fixture
def population(customers):
    """城东县公司 (CD): 60 residential + 20 commercial at 城关, 20 residential at 河西; 山南 (outside) 30."""
    return {
        "cg_res": customers("CG", 60, "residential"),
        "cg_com": customers("CG", 20, "commercial"),
        "hx_res": customers("HX", 20, "residential"),
        "sn": customers("SNS", 30, "residential"),
    }


def test_the_sample_is_stratified_reproducible_and_inside_the_scope(staff, population) -> None:
    drawn = do_draw_sample(staff("market_manager"), survey(staff))
    assert drawn.status == "sampled" and drawn.in_scope == 100
    rows = list(drawn.sample.values_list("account_id", "unit__code", "customer_class"))
    assert len(rows) == 20
    strata = {}
    for _a, unit, klass in rows:
        strata[(unit, klass)] = strata.get((unit, klass), 0) + 1
    assert strata == {("CG", "residential"): 12, ("CG", "commercial"): 4, ("HX", "residential"): 4}
    sn = {a.pk for a in population["sn"]}
    assert not {a for a, _u, _k in rows} & sn
    # the same seed over the same customers (nobody excluded) draws the same ones
    twin = do_draw_sample(staff("market_manager"), survey(staff, exclude_days=0))
    assert set(twin.sample.values_list("account_id", flat=True)) == {a for a, _u, _k in rows}


def test_customers_called_recently_are_not_drawn_again(staff, population) -> None:
    first = do_draw_sample(staff("market_manager"), survey(staff, sample_size=90))
    second = do_draw_sample(staff("market_manager"), survey(staff, sample_size=90, exclude_days=30))
    taken = set(first.sample.values_list("account_id", flat=True))
    again = set(second.sample.values_list("account_id", flat=True))
    assert len(taken) == 90 and len(again) == 10 and not taken & again
    SampleEntry.objects.filter(survey=first).update(drawn_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    third = do_draw_sample(staff("market_manager"), survey(staff, sample_size=90, exclude_days=30))
    latest = set(third.sample.values_list("account_id", flat=True))
    assert len(latest) == 90 and not latest & again  # the second survey's 10 are still in their quiet period


def test_interviews_results_by_unit_and_coverage(staff, population) -> None:
    drawn = do_draw_sample(staff("market_manager"), survey(staff))
    q = {x.position: x.pk for x in drawn.questions.all()}
    rep = staff("cs_rep")
    entries = list(drawn.sample.order_by("pk"))
    for n, entry in enumerate(entries[:10]):
        do_record_interview(
            rep,
            entry,
            status="reached",
            answers={str(q[1]): 5 - n % 2, str(q[2]): "网上国网", str(q[3]): "好"},
        )
    do_record_interview(rep, entries[10], status="refused", note="忙")
    do_record_interview(rep, entries[11], status="unreachable")
    results = survey_results(drawn)
    assert results.total.sampled == 20 and results.total.reached == 10 and results.total.refused == 1
    assert results.total.response_rate == pytest.approx(83.3)  # 10 of 12 called
    assert results.total.coverage == 10.0  # 10 of 100 in scope
    assert results.total.averages == [4.5]
    rating = results.questions[0]
    assert rating.distribution == [("1", 0), ("2", 0), ("3", 0), ("4", 5), ("5", 5)]
    assert results.questions[1].distribution == [("网上国网", 10), ("银行代扣", 0)]
    assert {u.unit_name for u in results.units} == {"城关供电所", "河西供电所"}
    assert sum(u.in_scope for u in results.units) == 100
    # the market department manager's KPI: coverage of the surveys running this month
    from gridcare.market.workbench import survey_coverage

    manager = staff("market_manager")
    assert survey_coverage(manager, None, Month.of(today())) == 10
    assert survey_coverage(manager, manager.org_unit, Month.of(today())) == 10
    assert survey_coverage(manager, None, Month.of(today() - dt.timedelta(days=120))) is None
    page = web(manager).get("/").content.decode()
    assert "满意度调查覆盖率" in page and "10.0%" in page
    # the screen and the Excel export
    page = web(manager).get(f"/market/surveys/{drawn.pk}/").content.decode()
    assert "城关供电所" in page and "83.3%" in page
    book = load_workbook(io.BytesIO(web(manager).get(f"/market/surveys/{drawn.pk}/export/").content))
    assert book.sheetnames == ["按单位", "按问题", "访问明细"]
    totals = list(book["按单位"].iter_rows(values_only=True))[-1]
    assert totals[:4] == ("城东县公司", 100, 20, 10)


@pytest.mark.parametrize(
    ("status", "answers", "why"),
    [
        ("reached", {"1": 6}, "1–5"),
        ("reached", {}, "未回答"),
        ("reached", {"2": "现金"}, "不在选项中"),
        ("refused", {"1": 3}, "不能录入答案"),
        ("maybe", None, "访问结果"),
    ],
)
def test_a_bad_interview_is_refused_and_nothing_changes(staff, population, status, answers, why) -> None:
    drawn = do_draw_sample(staff("market_manager"), survey(staff))
    q = {x.position: x.pk for x in drawn.questions.all()}
    mapped = {str(q[int(k)]) if k in "123" else k: v for k, v in (answers or {}).items()}
    if status == "reached" and answers and "1" not in answers:
        mapped[str(q[1])] = 4
    entry = drawn.sample.first()
    with pytest.raises(InvalidInput) as refused:
        do_record_interview(staff("cs_rep"), entry, status=status, answers=mapped or None)
    assert why in refused.value.message
    entry.refresh_from_db()
    assert entry.status == "pending" and not Answer.objects.exists()


def test_bad_survey_definitions_and_states_are_refused(staff, population) -> None:
    with pytest.raises(InvalidInput) as refused:
        survey(
            staff, questions=[{"kind": "choice", "text": "只有一个选项", "choices": ["是"]}], sample_size=0
        )
    assert set(refused.value.errors) == {"questions", "sample_size"}
    with pytest.raises(InvalidInput):
        survey(staff, period_end=today() - dt.timedelta(days=30))
    assert not Survey.objects.exists()
    drawn = do_draw_sample(staff("market_manager"), survey(staff))
    with pytest.raises(Conflict):
        do_draw_sample(staff("market_manager"), drawn)
    do_close_survey(staff("market_manager"), drawn)
    with pytest.raises(Conflict):
        do_record_interview(staff("cs_rep"), drawn.sample.first(), status="refused")
    empty = survey(staff, unit=OrgUnit.objects.get(code="XX"))  # 信息运维班: no customers
    with pytest.raises(Conflict, match="没有可抽取"):
        do_draw_sample(staff("market_manager"), empty)


def test_the_api_and_scope(api, staff, population) -> None:
    manager = api("market_manager")
    body = {
        "title": "API 调查",
        "period_start": str(today()),
        "period_end": str(today() + dt.timedelta(days=10)),
        "unit": "CD",
        "interview_unit": "KFB",
        "sample_size": 10,
        "questions": [{"text": "满意度", "kind": "rating"}],
    }
    created = manager.post("/api/market/surveys/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert manager.post(f"/api/market/surveys/{pk}/draw/", {}, format="json").json()["status"] == "sampled"
    entries = api("cs_rep").get(f"/api/market/sample/?survey={pk}").json()["results"]
    assert len(entries) == 10
    qid = Survey.objects.get(pk=pk).questions.get().pk
    bad = api("cs_rep").post(
        f"/api/market/sample/{entries[0]['id']}/interview/",
        {"status": "reached", "answers": {str(qid): 9}},
        format="json",
    )
    assert bad.status_code == 400 and "1–5" in bad.json()["detail"]
    ok = api("cs_rep").post(
        f"/api/market/sample/{entries[0]['id']}/interview/",
        {"status": "reached", "answers": {str(qid): 4}},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["answers"] == {str(qid): 4}
    results = manager.get(f"/api/market/surveys/{pk}/results/").json()
    assert results["total"]["reached"] == 1 and results["questions"][0]["average"] == 4.0
    # a station desk outside the interviewing team does not see the sample: 404, and the salesperson has no survey screens
    assert api("hx_rep").get(f"/api/market/sample/{entries[0]['id']}/").status_code == 404
    assert api("sales").get("/api/market/surveys/").status_code == 403
    assert api("cs_rep").post("/api/market/surveys/", body, format="json").status_code == 403
    missing = manager.post("/api/market/surveys/", {**body, "unit": "NOPE", "questions": []}, format="json")
    assert missing.status_code == 400 and {"unit", "questions"} <= set(missing.json()["errors"])


def test_the_screens_create_draw_and_interview(staff, population) -> None:
    manager = web(staff("market_manager"))
    response = manager.post(
        "/market/surveys/new/",
        {
            "title": "界面调查",
            "period_start": str(today()),
            "period_end": str(today() + dt.timedelta(days=5)),
            "unit": OrgUnit.objects.get(code="CD").pk,
            "interview_unit": OrgUnit.objects.get(code="KFB").pk,
            "sample_size": "5",
            "questions": "评分|供电可靠性\n单选|缴费方式|网上国网,银行代扣\n文字|意见",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Survey.objects.get(title="界面调查")
    assert [q.kind for q in created.questions.order_by("position")] == ["rating", "choice", "text"]
    bad = manager.post("/market/surveys/new/", {"title": "x", "questions": "问答|什么"})
    assert bad.status_code == 400 and "第 1 行" in bad.content.decode()
    assert manager.post(f"/market/surveys/{created.pk}/draw/").status_code == 302
    entry = created.sample.first()
    rep = web(staff("cs_rep"))
    form = rep.get(f"/market/sample/{entry.pk}/")
    assert form.status_code == 200 and "供电可靠性" in form.content.decode()
    q = {x.position: x.pk for x in created.questions.all()}
    done = rep.post(
        f"/market/sample/{entry.pk}/", {"status": "reached", f"q{q[1]}": "5", f"q{q[2]}": "银行代扣"}
    )
    assert done.status_code == 302
    entry.refresh_from_db()
    assert entry.status == "reached" and entry.answers.count() == 2
    refused = rep.post(f"/market/sample/{entry.pk}/", {"status": "reached", f"q{q[1]}": "5"})
    assert refused.status_code == 400 and "未回答" in refused.content.decode()
    todo = rep.get("/").content.decode()
    assert "满意度调查：待访问客户" in todo


def test_the_cli_draws_and_reports(staff, population, capsys) -> None:
    created = survey(staff)
    call_command("market", "survey-sample", created.number, "--user", "market_manager")
    out = capsys.readouterr().out
    assert (
        f"{created.number}" in out and "抽取 20 户" in out and "城关供电所：范围内 80 户，抽取 16 户" in out
    )
    call_command("market", "survey-results", created.number)
    assert "覆盖率 0.0%" in capsys.readouterr().out
    with pytest.raises(CommandError, match="已抽样"):
        call_command("market", "survey-sample", created.number, "--user", "market_manager")
    with pytest.raises(CommandError, match="没有编号"):
        call_command("market", "survey-results", "MY-NOPE")


def test_the_interviewer_gets_the_numbers_to_call_once_and_every_look_is_audited(
    staff, population, api
) -> None:
    from gridcare.core.models import AuditEntry
    from gridcare.customers.models import Contact

    drawn = do_draw_sample(staff("market_manager"), survey(staff))
    entry = drawn.sample.select_related("account").first()
    customer_id = entry.account.customer_id
    Contact.objects.create(customer_id=customer_id, name="王家属", mobile="13900001111", role="家属")
    Contact.objects.create(customer_id=customer_id, name="王户主", mobile="13800002222", is_primary=True)
    rep = web(staff("cs_rep"))
    page = rep.get(f"/market/sample/{entry.pk}/").content.decode()
    assert "显示回访电话" in page and "13800002222" not in page
    assert rep.post(f"/market/sample/{entry.pk}/phone/").status_code == 302
    shown = rep.get(f"/market/sample/{entry.pk}/").content.decode()
    assert 'href="tel:13800002222"' in shown and shown.index("13800002222") < shown.index("13900001111")
    assert "13800002222" not in rep.get(f"/market/sample/{entry.pk}/").content.decode()  # shown once
    answer = api("cs_rep").post(f"/api/market/sample/{entry.pk}/phone/", format="json")
    assert answer.status_code == 200
    assert [c["mobile"] for c in answer.json()["contacts"]] == ["13800002222", "13900001111"]
    looks = AuditEntry.objects.filter(action="market.view_sample_phone", object_id=str(entry.pk))
    assert looks.count() == 2 and looks.filter(actor=staff("cs_rep")).count() == 2
    # outside the interviewing team: the entry does not exist; without survey.interview: refused
    assert api("hx_rep").post(f"/api/market/sample/{entry.pk}/phone/", format="json").status_code == 404
    assert web(staff("hx_rep")).post(f"/market/sample/{entry.pk}/phone/").status_code == 404
    assert api("sales").post(f"/api/market/sample/{entry.pk}/phone/", format="json").status_code == 403
    # once the survey is closed there is nobody to call: refused with the reason, nothing audited
    do_close_survey(staff("market_manager"), drawn)
    closed = api("cs_rep").post(f"/api/market/sample/{entry.pk}/phone/", format="json")
    assert closed.status_code == 409 and "访问阶段" in closed.json()["detail"]
    assert looks.count() == 2
