"""Staff screens of the core app: the audit log and the business calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from gridcare.core import calendar
from gridcare.core.access import has_perm
from gridcare.core.actions import do_set_calendar_override
from gridcare.core.filters import AuditEntryFilter
from gridcare.core.forms import CalendarOverrideForm, DeadlineForm
from gridcare.core.models import AuditEntry, CalendarOverride
from gridcare.web.display import FieldChange, audit_changes, audited_model
from gridcare.web.views import ActionFormView, Column, ScopedDetailView, ScopedListView, StaffMixin
from gridcare.web.workbench import describe_action


class AuditLogView(ScopedListView):
    model = AuditEntry
    permission = "audit.view"
    filterset_class = AuditEntryFilter
    title = _("Audit log")
    export_name = "audit-log"
    paginate_by = 50
    columns = [
        Column(_("Time"), "at"),
        Column(_("Person"), "actor_name"),
        Column(_("Action"), lambda entry: describe_action(entry.action)),
        Column(_("Object type"), lambda entry: object_type_name(entry.object_type)),
        Column(_("Object"), "object_repr"),
        Column(_("Changes"), lambda entry: summary(audit_changes(entry))),
        Column(_("Request id"), "request_id"),
        Column(_("Job id"), "job_id"),
    ]


class AuditEntryDetailView(ScopedDetailView):
    """One audit row: who, when, what, and its changes field by field."""

    model = AuditEntry
    permission = "audit.view"
    template_name = "core/audit_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        entry = context["object"]
        context.update(
            history=None,
            words=describe_action(entry.action, entry.object_repr),
            object_type=object_type_name(entry.object_type),
            changes=audit_changes(entry),
        )
        return context


def object_type_name(object_type: str) -> str:
    """The audited model's verbose name ("工单" for ``service.workorder``)."""
    model = audited_model(object_type)
    return capfirst(str(model._meta.verbose_name)) if model is not None else object_type


def summary(changes: list[FieldChange]) -> str:
    """Changes on one line for a list cell and Excel: "状态：已受理 → 已派工；处理人：— → 张三"."""
    return "；".join(
        f"{c.label}：{c.before} → {c.after}" if c.label else f"{c.before} → {c.after}" for c in changes
    )


class CalendarView(StaffMixin, TemplateView):
    """工作日历 — a year of working days and days off, overrides, and a deadline calculator."""

    template_name = "core/calendar.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        today = timezone.localdate()
        try:
            year = int(self.request.GET.get("year", today.year))
        except ValueError:
            year = today.year
        year = min(max(year, 2004), 2100)
        cal = calendar.get_calendar()
        months = []
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            days = []
            day = first
            while day.month == month:
                days.append({"date": day, "working": cal.is_working_day(day), "weekend": day.weekday() >= 5})
                day += dt.timedelta(days=1)
            months.append({"month": month, "lead": first.weekday(), "days": days})
        deadline = None
        form = DeadlineForm(self.request.GET if "working_days" in self.request.GET else None)
        if form.is_bound and form.is_valid():
            deadline = calendar.add_working_days(
                form.cleaned_data["start"], form.cleaned_data["working_days"]
            )
        return super().get_context_data(
            year=year,
            months=months,
            overrides=CalendarOverride.objects.filter(day__year=year),
            missing_years=cal.years_without_official_data(year, year),
            deadline_form=form,
            deadline=deadline,
            can_manage=has_perm(self.request.user, "calendar.manage"),
            **kwargs,
        )


class CalendarOverrideCreateView(ActionFormView):
    permission = "calendar.manage"
    form_class = CalendarOverrideForm
    title = _("Calendar override")

    def perform(self, data: dict[str, Any]) -> CalendarOverride:
        return do_set_calendar_override(self.request.user, **data)

    def success_url(self, result: Any) -> str:
        return f"{reverse('core:calendar')}?year={result.day.year}"
