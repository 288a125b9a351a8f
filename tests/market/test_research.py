"""市场调研报告: written with documents (PDF/Word/Excel, size and type checked), searchable and filtered, listed on
the prospect page; a report on an unconverted prospect follows the prospect's confidentiality (404 otherwise)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from gridcare.core.errors import InvalidInput
from gridcare.market.actions import do_write_report
from gridcare.market.models import ReportAttachment, ResearchReport
from gridcare.org.models import OrgUnit
from tests.market.conftest import PDF, XLSX

pytestmark = pytest.mark.django_db

#: who sees sales' unconverted prospect (and so the report on it): the owner and the managers above him
SEE_SALES = {"sales", "market_manager", "manager", "vp"}
#: research readers who do not see that prospect
BLIND = {"key_account"}


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def write(staff, username="sales", **extra):
    data = {
        "title": "县域数据中心用电需求调研",
        "summary": "拟建数据中心三处，关注双电源",
        "body": "主要诉求：双回路供电、峰谷电价。",
        "industry": "data_centre",
        "region": OrgUnit.objects.get(code="SNS"),
        "written_on": dt.date(2026, 11, 20),
    }
    data.update(extra)
    return do_write_report(staff(username), **data)


def test_a_report_with_documents_is_stored_and_downloaded_by_readers(staff, media) -> None:
    report = write(staff, files=[("调研.pdf", PDF), ("数据.xlsx", XLSX)])
    assert report.number.startswith("DY")
    files = list(report.attachments.order_by("pk"))
    assert [f.name for f in files] == ["调研.pdf", "数据.xlsx"]
    assert [f.content_type for f in files][0] == "application/pdf"
    assert (media / files[0].file.name).read_bytes() == PDF
    response = web(staff("key_account")).get(f"/market/attachments/{files[0].pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("setup.exe", b"MZ\x90\x00", "类型不允许"),
        ("伪装.pdf", b"MZ\x90\x00", "内容不是 PDF"),
        ("空.docx", b"", "空文件"),
        ("大.pdf", PDF + b"0" * 2048, "超过上限"),
    ],
)
def test_a_bad_document_is_refused_and_nothing_is_kept(staff, media, settings, name, content, why) -> None:
    settings.GRIDCARE_MARKET = {"ATTACHMENT_MAX_BYTES": 1024}
    with pytest.raises(InvalidInput) as refused:
        write(staff, files=[("好.pdf", PDF), (name, content)])
    assert why in refused.value.errors["files"][0] and name in refused.value.errors["files"][0]
    assert not ResearchReport.objects.exists() and not ReportAttachment.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_bad_input_on_the_screen_and_the_api_is_explained(staff, api) -> None:
    response = web(staff("sales")).post(
        "/market/reports/new/",
        {
            "title": "",
            "summary": "x",
            "written_on": "2026-11-20",
            "documents": SimpleUploadedFile("a.exe", b"MZ"),
        },
    )
    assert response.status_code == 400
    response = api("sales").post(
        "/api/market/reports/", {"summary": "x", "written_on": "2026-11-20"}, format="json"
    )
    assert response.status_code == 400 and "title" in response.json()["errors"]
    response = api("sales").post(
        "/api/market/reports/",
        {
            "title": "t",
            "summary": "s",
            "written_on": "2026-11-20",
            "files": [SimpleUploadedFile("x.txt", b"hi")],
        },
        format="multipart",
    )
    assert response.status_code == 400 and "类型不允许" in response.json()["errors"]["files"][0]
    assert not ResearchReport.objects.exists()


def test_search_and_filters_find_the_same_reports_on_screen_and_api(staff, api, register) -> None:
    prospect = register("sales").prospect
    a = write(staff)
    b = write(
        staff,
        "market_manager",
        title="商业综合体储能意愿",
        summary="空调负荷占比高",
        body="峰谷价差扩大后有储能改造意愿 Storage",
        industry="commerce",
        region=OrgUnit.objects.get(code="CG"),
        written_on=dt.date(2026, 10, 1),
    )
    c = write(
        staff, title="走访纪要", summary="投产计划", industry="chemicals", prospect=prospect, region=None
    )
    client = api("manager")

    def found(query: str) -> set[int]:
        return {row["id"] for row in client.get(f"/api/market/reports/?{query}").json()["results"]}

    assert found("q=储能") == {b.pk}  # the body is searched
    assert found("q=storage") == {b.pk}  # case-insensitive
    assert found("q=双电源 数据中心") == {a.pk}  # every word
    assert found("q=华东新材料") == {c.pk}  # the prospect's name is a tag
    assert found("industry=commerce") == {b.pk}
    assert found("region=SNS") == {a.pk}
    assert found("region=CD") == {b.pk}  # 城东县公司 and the stations below it
    assert found(f"prospect={prospect.pk}") == {c.pk}
    assert found(f"author={staff('market_manager').pk}") == {b.pk}
    assert found("written_from=2026-11-01&written_to=2026-11-30") == {a.pk, c.pk}
    page = web(staff("manager")).get("/market/reports/?q=储能")
    assert page.status_code == 200 and "商业综合体储能意愿" in page.content.decode()
    assert "县域数据中心" not in page.content.decode()
    sheet = load_workbook(
        io.BytesIO(web(staff("manager")).get("/market/reports/?q=储能&export=xlsx").content)
    ).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["商业综合体储能意愿"]


def test_a_report_on_an_unconverted_prospect_follows_its_confidentiality(staff, api, register) -> None:
    prospect = register("sales").prospect
    secret = write(staff, title="机密走访纪要", prospect=prospect, files=[("纪要.pdf", PDF)])
    public = write(staff, title="公开行业报告")
    attachment = secret.attachments.get()
    for username in SEE_SALES | BLIND:
        user = staff(username)
        listed = {row["id"] for row in api(username).get("/api/market/reports/?q=纪要").json()["results"]}
        detail = api(username).get(f"/api/market/reports/{secret.pk}/").status_code
        page = web(user).get(f"/market/reports/{secret.pk}/").status_code
        download = web(user).get(f"/market/attachments/{attachment.pk}/").status_code
        api_download = api(username).get(f"/api/market/attachments/{attachment.pk}/download/").status_code
        if username in SEE_SALES:
            assert (secret.pk in listed, detail, page, download, api_download) == (
                True,
                200,
                200,
                200,
                200,
            ), username
        else:
            assert (secret.pk in listed, detail, page, download, api_download) == (
                False,
                404,
                404,
                404,
                404,
            ), username
        assert api(username).get(f"/api/market/reports/{public.pk}/").status_code == 200
    # positions without research screens are refused outright
    assert web(staff("cs_rep")).get("/market/reports/").status_code == 403
    assert api("cs_rep").get("/api/market/reports/").status_code == 403
    # a report cannot be attached to a prospect one does not see (the same answer as an unknown one)
    with pytest.raises(InvalidInput) as refused:
        write(staff, "key_account", prospect=prospect)
    assert "未找到该备案客户" in refused.value.errors["prospect"][0]
    # once the prospect is a customer, the report is market knowledge like any other
    from gridcare.keyaccounts.models import Prospect

    Prospect.objects.filter(pk=prospect.pk).update(status="converted")
    assert api("key_account").get(f"/api/market/reports/{secret.pk}/").status_code == 200


def test_the_prospect_page_and_the_360_view_list_the_reports(staff, register, company) -> None:
    prospect = register("sales").prospect
    write(staff, title="机密走访纪要", prospect=prospect)
    page = web(staff("sales")).get(f"/keyaccounts/prospects/{prospect.pk}/").content.decode()
    assert "机密走访纪要" in page and f"/market/reports/new/?prospect={prospect.pk}" in page
    account = company("示范机械厂", manager=staff("key_account"), station="CG")
    from gridcare.keyaccounts.models import KeyAccount

    key = KeyAccount.objects.create(account=account, grade="general")
    write(staff, title="城关商业用电调研", region=OrgUnit.objects.get(code="CG"))
    page = web(staff("key_account")).get(f"/keyaccounts/accounts/{key.pk}/").content.decode()
    assert "城关商业用电调研" in page and "机密走访纪要" not in page


def test_the_api_writes_a_report_with_files_idempotently(api, staff) -> None:
    client = api("sales")
    body = {
        "title": "API 调研",
        "summary": "摘要",
        "written_on": "2026-11-20",
        "region": "CG",
        "files": [SimpleUploadedFile("a.pdf", PDF)],
    }
    first = client.post("/api/market/reports/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == 201, first.content
    body["files"] = [SimpleUploadedFile("a.pdf", PDF)]
    again = client.post("/api/market/reports/", body, format="multipart", HTTP_IDEMPOTENCY_KEY="r-1")
    assert again.json()["id"] == first.json()["id"]
    assert ResearchReport.objects.count() == 1
    added = client.post(
        f"/api/market/reports/{first.json()['id']}/attach/",
        {"file": SimpleUploadedFile("b.docx", XLSX)},
        format="multipart",
    )
    assert added.status_code == 201 and added.json()["name"] == "b.docx"
