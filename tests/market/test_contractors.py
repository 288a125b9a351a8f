"""资质审查: construction and design units with certificates (type and grade of their kind, validity) and a
performance record; ``selectable_contractors`` leaves out expired ones, and selecting one — by the form field, the
action, the API — is refused with the reason; certificates about to expire are a to-do of the register's keepers."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.core.management import call_command
from django.test import Client

from gridcare.core.errors import Conflict, InvalidInput
from gridcare.customers.validators import credit_code_check_char
from gridcare.market.actions import do_add_qualification, do_record_performance, do_register_contractor
from gridcare.market.forms import SelectableContractorField
from gridcare.market.models import Contractor, PerformanceRecord, Qualification
from gridcare.market.selectors import contractor_status, selectable_contractors
from tests.days import today

pytestmark = pytest.mark.django_db


def code(n: int) -> str:
    first = f"91331100MA{n:07d}"
    return first + credit_code_check_char(first)


@pytest.fixture
def register(staff):
    manager = staff("market_manager")

    def make(
        name: str,
        kind: str = "construction",
        *,
        n: int,
        until: int,
        since: int = -365,
        qtype: str = "install",
        grade: str = "3",
    ):
        unit = do_register_contractor(manager, name=name, kind=kind, credit_code=code(n))
        do_add_qualification(
            manager,
            unit,
            qualification_type=qtype,
            grade=grade,
            certificate_no=f"CERT-{n}",
            valid_from=today() + dt.timedelta(days=since),
            valid_to=today() + dt.timedelta(days=until),
        )
        return unit

    return make


@pytest.fixture
def units(register):
    return {
        "valid": register("示范电力安装公司", n=1, until=400),
        "expiring": register("河西输变电公司", n=2, until=10),
        "expired": register("山南电力工程公司", n=3, until=-1),
        "design": register("浙西设计院", "design", n=4, until=400, qtype="design", grade="B"),
    }


def test_selectable_contractors_leave_out_expired_ones(units) -> None:
    names = set(selectable_contractors("construction", today()).values_list("name", flat=True))
    assert names == {"示范电力安装公司", "河西输变电公司"}
    later = set(
        selectable_contractors("construction", today() + dt.timedelta(days=30)).values_list("name", flat=True)
    )
    assert later == {"示范电力安装公司"}
    earlier = set(
        selectable_contractors("construction", today() - dt.timedelta(days=30)).values_list("name", flat=True)
    )
    assert earlier == {"示范电力安装公司", "河西输变电公司", "山南电力工程公司"}
    assert set(selectable_contractors("design").values_list("name", flat=True)) == {"浙西设计院"}
    assert [contractor_status(units[k]) for k in ("valid", "expiring", "expired")] == [
        "valid",
        "expiring",
        "expired",
    ]


def test_an_expired_unit_cannot_be_given_a_project(staff, units) -> None:
    manager = staff("market_manager")
    with pytest.raises(InvalidInput) as refused:
        do_record_performance(
            manager, units["expired"], kind="project", project="城关配电工程", happened_on=today()
        )
    reason = refused.value.errors["contractor"][0]
    assert "已于" in reason and "过期" in reason and "CERT-3" in reason
    assert not PerformanceRecord.objects.exists()
    done = do_record_performance(
        manager, units["valid"], kind="project", project="城关配电工程", happened_on=today()
    )
    assert done.qualification.certificate_no == "CERT-1"
    # a project of the past, when the qualification was valid, may be recorded
    past = do_record_performance(
        manager,
        units["expired"],
        kind="project",
        project="旧工程",
        happened_on=today() - dt.timedelta(days=100),
    )
    assert past.qualification.certificate_no == "CERT-3"
    # ratings and complaints need no valid qualification, but their own fields
    do_record_performance(
        manager,
        units["expired"],
        kind="complaint",
        project="旧工程",
        happened_on=today(),
        description="未设围挡",
    )
    with pytest.raises(InvalidInput) as bad:
        do_record_performance(
            manager, units["valid"], kind="rating", project="x", happened_on=today(), rating=7
        )
    assert "1–5" in bad.value.errors["rating"][0]


def test_the_form_field_refuses_an_expired_unit_with_the_reason(units) -> None:
    class Pick(forms.Form):
        contractor = SelectableContractorField("construction")

    form = Pick({"contractor": units["expired"].pk})
    assert not form.is_valid()
    assert "过期" in form.errors["contractor"][0]
    assert Pick({"contractor": units["valid"].pk}).is_valid()
    assert not Pick(
        {"contractor": units["design"].pk}
    ).is_valid()  # a design unit is not offered for construction
    labels = dict(Pick().fields["contractor"].choices)
    assert any("资质已过期" in str(label) for label in labels.values())


def test_bad_register_input_is_refused(staff, units) -> None:
    manager = staff("market_manager")
    with pytest.raises(InvalidInput) as bad:
        do_register_contractor(manager, name="", kind="builder", credit_code="123")
    assert set(bad.value.errors) == {"name", "kind", "credit_code"}
    with pytest.raises(Conflict):
        do_register_contractor(manager, name="示范电力安装公司", kind="construction", credit_code=code(99))
    with pytest.raises(InvalidInput) as wrong:
        do_add_qualification(
            manager,
            units["valid"],
            qualification_type="design",
            grade="A",
            certificate_no="X-1",
            valid_from=today(),
            valid_to=today(),
        )
    assert "不适用于施工单位" in wrong.value.errors["qualification_type"][0]
    with pytest.raises(InvalidInput) as grade:
        do_add_qualification(
            manager,
            units["valid"],
            qualification_type="install",
            grade="A",
            certificate_no="X-1",
            valid_from=today(),
            valid_to=today(),
        )
    assert "一级" in grade.value.errors["grade"][0]
    with pytest.raises(InvalidInput):
        do_add_qualification(
            manager,
            units["valid"],
            qualification_type="install",
            grade="1",
            certificate_no="X-1",
            valid_from=today(),
            valid_to=today() - dt.timedelta(days=1),
        )
    with pytest.raises(Conflict):
        do_add_qualification(
            manager,
            units["valid"],
            qualification_type="install",
            grade="1",
            certificate_no="CERT-2",
            valid_from=today(),
            valid_to=today(),
        )
    assert Qualification.objects.count() == 4 and Contractor.objects.count() == 4


def test_expiry_warning_is_a_todo_until_renewed(staff, units) -> None:
    client = Client()
    client.force_login(staff("market_manager"))
    page = client.get("/").content.decode()
    assert "施工/设计单位资质即将到期" in page and "河西输变电公司" in page
    do_add_qualification(
        staff("market_manager"),
        units["expiring"],
        qualification_type="install",
        grade="3",
        certificate_no="CERT-2B",
        valid_from=today(),
        valid_to=today() + dt.timedelta(days=1000),
    )
    assert "施工/设计单位资质即将到期" not in client.get("/").content.decode()
    sales = Client()
    sales.force_login(staff("sales"))
    assert "施工/设计单位资质即将到期" not in sales.get("/").content.decode()


def test_screens_list_badges_and_refuse_an_expired_selection(staff, units) -> None:
    client = Client()
    client.force_login(staff("market_manager"))
    page = client.get("/market/contractors/").content.decode()
    for words in ("资质有效", "即将到期", "已到期", "承装电力设施许可证 三级"):
        assert words in page
    refused = client.post(
        "/market/contractors/assign/?kind=construction",
        {"contractor": units["expired"].pk, "project": "城关工程", "happened_on": str(today())},
    )
    assert refused.status_code == 400 and "过期，不能选用" in refused.content.decode()
    done = client.post(
        "/market/contractors/assign/?kind=construction",
        {"contractor": units["valid"].pk, "project": "城关工程", "happened_on": str(today())},
    )
    assert done.status_code == 302
    detail = client.get(f"/market/contractors/{units['valid'].pk}/").content.decode()
    assert "城关工程" in detail and "CERT-1" in detail
    assert client.get("/market/contractors/999999/").status_code == 404
    key = Client()
    key.force_login(staff("key_account"))  # reads the register, keeps nothing
    assert key.get("/market/contractors/").status_code == 200
    assert key.get("/market/contractors/new/").status_code == 403
    cs = Client()
    cs.force_login(staff("cs_rep"))
    assert cs.get("/market/contractors/").status_code == 403


def test_the_api_and_the_cli(api, units, capsys) -> None:
    client = api("market_manager")
    rows = client.get(f"/api/market/contractors/selectable/?kind=construction&on={today()}").json()["results"]
    assert {r["name"] for r in rows} == {"示范电力安装公司", "河西输变电公司"}
    assert client.get("/api/market/contractors/selectable/?kind=x").status_code == 400
    assert client.get("/api/market/contractors/selectable/?kind=design&on=2026-13-01").status_code == 400
    listed = client.get("/api/market/contractors/?status=valid&kind=construction").json()["results"]
    assert {r["name"] for r in listed} == {"示范电力安装公司", "河西输变电公司"}
    refused = client.post(
        f"/api/market/contractors/{units['expired'].pk}/records/",
        {"kind": "project", "project": "城关工程", "happened_on": str(today())},
        format="json",
    )
    assert refused.status_code == 400 and "过期" in refused.json()["errors"]["contractor"][0]
    created = client.post(
        "/api/market/contractors/",
        {"name": "新单位", "kind": "design", "credit_code": code(50)},
        format="json",
    )
    assert created.status_code == 201 and created.json()["status"] == "none"
    added = client.post(
        f"/api/market/contractors/{created.json()['id']}/qualifications/",
        {
            "qualification_type": "design",
            "grade": "C",
            "certificate_no": "D-50",
            "valid_from": str(today()),
            "valid_to": str(today() + dt.timedelta(days=900)),
        },
        format="json",
    )
    assert added.status_code == 201
    assert api("key_account").post("/api/market/contractors/", {}, format="json").status_code == 403
    call_command("market", "contractors", "--kind", "construction")
    out = capsys.readouterr().out
    assert "可选用的施工单位：2 家" in out and "山南电力工程公司" not in out
    call_command("market", "expiring")
    assert "河西输变电公司" in capsys.readouterr().out
