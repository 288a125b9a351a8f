"""The demo builds research reports (one confidential), a survey with a drawn sample and answers, and the
contractor register with one expired unit — all through the real actions."""

from __future__ import annotations

import pytest

from gridcare.keyaccounts import demo as keyaccounts_demo
from gridcare.market import demo
from gridcare.market.models import ReportAttachment, ResearchReport, SampleEntry, Survey
from gridcare.market.selectors import selectable_contractors, survey_results, visible_reports

pytestmark = pytest.mark.django_db


def test_demo_through_the_real_actions(staff, customers, company) -> None:
    customers("CG", 40, "residential"), customers("HX", 20, "commercial"), customers("SNS", 20, "residential")
    company("示范大工业0号", manager=staff("key_account"), capacity="2000")
    list(keyaccounts_demo.build(staff("admin"), "small"))
    lines = list(demo.build(staff("admin"), "small"))
    assert len(lines) == 3, lines
    assert ResearchReport.objects.count() == 3 and ReportAttachment.objects.count() == 1
    secret = ResearchReport.objects.get(prospect__isnull=False)
    assert secret not in visible_reports(staff("key_account")) and secret in visible_reports(staff("sales"))
    survey = Survey.objects.get()
    assert survey.status == "sampled" and survey.sample.count() == 60
    results = survey_results(survey)
    assert results.total.reached > 0 and results.total.refused > 0 and results.total.unreachable > 0
    assert SampleEntry.objects.filter(status="pending").exists()  # a third is still to call
    assert selectable_contractors("construction").count() == 2  # one expired
    assert list(demo.build(staff("admin"), "small"))[0].endswith("already present (use --reset to rebuild)")
