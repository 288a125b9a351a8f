"""The market app on the workbench: survey coverage (满意度调查覆盖率, the market department manager's KPI), the
interviews waiting to be made, and qualifications about to expire (资质到期预警) for the register's keepers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import has_perm, restrict
from gridcare.market.models import SampleEntry, Survey
from gridcare.market.selectors import coverage, expiring_qualifications
from gridcare.web.workbench import KPI, Month, Todo, Value, ratio, scoped

VERBS = {
    "market.write_report": _("Wrote the market research report"),
    "market.add_attachment": _("Added a document to the report"),
    "market.create_survey": _("Created the satisfaction survey"),
    "market.draw_sample": _("Drew the sample of the survey"),
    "market.record_interview": _("Recorded the survey interview"),
    "market.view_sample_phone": _("Viewed the phone numbers to call of"),
    "market.close_survey": _("Closed the satisfaction survey"),
    "market.register_contractor": _("Registered the contractor"),
    "market.add_qualification": _("Recorded the qualification"),
    "market.record_performance": _("Recorded the contractor's performance"),
}


def survey_coverage(user: Any, unit: Any, month: Month) -> Value:
    """满意度调查覆盖率 — of the customers (active accounts) under the units surveyed by the surveys running in the
    month (the person's own surveys, or those organised in the unit), the share reached by one of them."""
    running = Survey.objects.exclude(status=Survey.Status.DRAFT).filter(
        period_start__lte=month.last_day, period_end__gte=month.first_day
    )
    if unit is None:  # the person's own surveys
        surveys = scoped(running, user, None, person="created_by")
    else:  # the unit's: the surveys its people organised
        surveys = restrict(running, user).filter(owner_unit__path__startswith=unit.path)
    reached, whole = coverage(surveys)
    return ratio(reached, whole)


def _survey_link(user: Any, unit: Any, month: Month) -> str:
    return reverse("market:survey-list")


def interviews_waiting(user: Any) -> list[Todo]:
    """Sampled customers not yet called, in the surveys being interviewed that the person's team makes."""
    if not has_perm(user, "survey.interview"):
        return []
    rows = restrict(
        SampleEntry.objects.filter(status=SampleEntry.Status.PENDING, survey__status=Survey.Status.SAMPLED),
        user,
        write=True,
    )
    by_survey = list(rows.values_list("survey_id", "survey__number", "survey__title").distinct()[:5])
    count = rows.count()
    if not count:
        return []
    items = tuple(
        (f"{number} {title}", reverse("market:sample-list") + f"?survey={pk}&status=pending", None)
        for pk, number, title in by_survey
    )
    return [
        Todo(
            "market.interviews",
            _("Satisfaction survey: customers to call"),
            count,
            reverse("market:sample-list") + "?status=pending",
            "warning",
            items,
        )
    ]


def qualifications_expiring(user: Any) -> list[Todo]:
    """Certificates ending within ``QUALIFICATION_WARNING_DAYS`` (no later one of the same type on file)."""
    if not has_perm(user, "contractor.manage"):
        return []
    rows = expiring_qualifications(timezone.localdate()).order_by("valid_to")
    count = rows.count()
    if not count:
        return []
    items = tuple(
        (f"{q.contractor.name}：{q.certificate_no} {q.valid_to}", q.contractor.get_absolute_url(), None)
        for q in rows[:5]
    )
    return [
        Todo(
            "market.qualifications_expiring",
            _("Contractor qualifications about to expire"),
            count,
            reverse("market:contractor-list"),
            "danger",
            items,
        )
    ]


TODOS = [interviews_waiting, qualifications_expiring]
KPIS = [KPI("survey_coverage", survey_coverage, _survey_link)]
