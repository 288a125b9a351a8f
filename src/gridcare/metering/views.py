"""Metering screens: meter assets, installation history, the verification & rotation plan and the overdue list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.access import get_in_scope, has_perm
from gridcare.core.errors import NotFound
from gridcare.metering import actions
from gridcare.metering.filters import InstallationFilter, MeterFilter
from gridcare.metering.forms import (
    InstallForm,
    MeterForm,
    ReadsMixin,
    RemoveForm,
    ReplaceForm,
    StatusForm,
    TestForm,
)
from gridcare.metering.models import Installation, Meter
from gridcare.metering.rules import add_months
from gridcare.metering.selectors import due_q, overdue_q
from gridcare.web.flags import Flag, days_left, days_overdue
from gridcare.web.views import ActionFormView, AutocompleteView, Column, ScopedDetailView, ScopedListView

#: Where a meter is: the service point's address (what 用电地址 means to staff) beside its number.
SERVICE_POINT_COLUMNS = [
    Column(_("Service point number"), "service_point.number"),
    Column(_("Address"), "service_point.address"),
]

METER_COLUMNS = [
    Column(_("Asset number"), "asset_no"),
    Column(_("Barcode"), "barcode"),
    Column(_("Manufacturer"), "manufacturer"),
    Column(_("Model"), "model_code"),
    Column(_("Phases"), "phases"),
    Column(_("Status"), "get_status_display"),
    *SERVICE_POINT_COLUMNS,
    Column(_("Metering class"), "service_point.metering_class"),
    Column(_("Verified on"), "verified_on"),
    Column(_("Installed on"), "installed_on"),
    Column(_("Next on-site test due"), "next_test_due"),
    Column(_("Rotation due"), "rotation_due"),
    Column(_("Replacement due (out of tolerance)"), "replace_due"),
]


def overdue_flag(meter: Meter) -> Flag | None:
    """How many days the most overdue of the meter's test, rotation and replacement is late (red)."""
    today = timezone.localdate()
    due = [d for d in (meter.next_test_due, meter.rotation_due, meter.replace_due) if d is not None]
    return days_overdue(min(due), today) if due else None


def due_flag(meter: Meter) -> Flag | None:
    """When the meter's nearest test, rotation or replacement falls (the plan: 12 天后到期)."""
    due = [d for d in (meter.next_test_due, meter.rotation_due, meter.replace_due) if d is not None]
    return days_left(min(due), timezone.localdate()) if due else None


def _meter(request: HttpRequest, pk: Any) -> Meter:
    try:
        return get_in_scope(Meter.objects.all(), request.user, pk=pk)
    except NotFound:
        raise Http404 from None


class MeterListView(ScopedListView):
    model = Meter
    permission = "meter.view"
    filterset_class = MeterFilter
    title = _("Meters")
    export_name = "meters"
    create_url_name: str | None = "metering:meter-create"
    create_permission = "meter.manage"
    columns = METER_COLUMNS

    def base_queryset(self):
        return Meter.objects.select_related("service_point", "org_unit")


class PlanView(MeterListView):
    """检定轮换计划 — meters due for an on-site test, rotation or replacement within the next 3 months."""

    title = _("Verification & rotation plan (next 3 months)")
    export_name = "meter-plan"
    create_url_name = None
    columns = [METER_COLUMNS[0], Column(_("Due"), due_flag), *METER_COLUMNS[1:]]

    def base_queryset(self):
        today = timezone.localdate()
        return (
            super()
            .base_queryset()
            .filter(due_q(today, add_months(today, 3)))
            .order_by("next_test_due", "asset_no")
        )


class OverdueView(MeterListView):
    """超期清单 — installed meters whose on-site test, rotation or replacement is past due."""

    title = _("Overdue tests and rotations")
    export_name = "meters-overdue"
    create_url_name = None
    columns = [METER_COLUMNS[0], Column(_("Days overdue"), overdue_flag), *METER_COLUMNS[1:]]

    def base_queryset(self):
        return (
            super()
            .base_queryset()
            .filter(overdue_q(timezone.localdate()))
            .order_by("next_test_due", "asset_no")
        )


class InstallationListView(ScopedListView):
    model = Installation
    permission = "meter.view"
    filterset_class = InstallationFilter
    title = _("Installations")
    export_name = "installations"
    columns = [
        Column(_("Asset number"), "meter.asset_no"),
        *SERVICE_POINT_COLUMNS,
        Column(_("Installed on"), "installed_on"),
        Column(_("Removed on"), "removed_on"),
        Column(_("Reason"), "get_reason_display"),
        Column(_("Multiplier"), "multiplier"),
    ]

    def base_queryset(self):
        return Installation.objects.select_related("meter", "service_point")


class MeterAutocompleteView(AutocompleteView):
    """电能表 by asset number or barcode, for the searchable meter filters."""

    model = Meter
    permission = "meter.view"
    search_fields = ("asset_no__startswith", "barcode__startswith")


class MeterDetailView(ScopedDetailView):
    model = Meter
    permission = "meter.view"
    template_name = "metering/meter_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        meter = context["object"]
        context["installations"] = meter.installations.select_related("service_point").prefetch_related(
            "reads"
        )
        context["tests"] = meter.tests.all()
        context["can_manage"] = has_perm(self.request.user, "meter.manage")
        context["today"] = timezone.localdate()
        return context


class MeterCreateView(ActionFormView):
    permission = "meter.manage"
    form_class = MeterForm
    title = _("New meter")

    def perform(self, data: dict[str, Any]) -> Meter:
        return actions.do_register_meter(self.request.user, **data)


class InstallView(ActionFormView):
    permission = "meter.manage"
    form_class: type[ReadsMixin] = InstallForm
    form: ReadsMixin
    title = _("Install meter")

    def perform(self, data: dict[str, Any]) -> Meter:
        meter = _meter(self.request, self.kwargs["pk"])
        form = self.form
        actions.do_install_meter(
            self.request.user,
            meter,
            data["service_point"],
            installed_on=data["installed_on"],
            initial_reads=form.reads("initial"),
            reason=data["reason"],
        )
        return meter

    def get_form(self, data: Any = None) -> forms.Form:
        form = super().get_form(data)
        assert isinstance(form, ReadsMixin)
        self.form = form
        return form


class RemoveView(InstallView):
    form_class = RemoveForm
    title = _("Remove meter")

    def perform(self, data: dict[str, Any]) -> Meter:
        meter = _meter(self.request, self.kwargs["pk"])
        actions.do_remove_meter(
            self.request.user,
            meter,
            removed_on=data["removed_on"],
            final_reads=self.form.reads("final"),
            reason=data["reason"],
        )
        return meter


class ReplaceView(InstallView):
    form_class = ReplaceForm
    title = _("Replace meter")

    def perform(self, data: dict[str, Any]) -> Meter:
        meter = _meter(self.request, self.kwargs["pk"])
        actions.do_replace_meter(
            self.request.user,
            meter,
            data["new_meter"],
            replaced_on=data["replaced_on"],
            final_reads=self.form.reads("final"),
            initial_reads=self.form.reads("initial"),
            reason=data["reason"],
        )
        return data["new_meter"]


class TestView(ActionFormView):
    permission = "meter.manage"
    form_class = TestForm
    title = _("Record on-site test")

    def perform(self, data: dict[str, Any]) -> Meter:
        meter = _meter(self.request, self.kwargs["pk"])
        actions.do_record_onsite_test(self.request.user, meter, **data)
        return meter


class StatusView(ActionFormView):
    permission = "meter.manage"
    form_class = StatusForm
    title = _("Change meter status")

    def perform(self, data: dict[str, Any]) -> Meter:
        meter = _meter(self.request, self.kwargs["pk"])
        return actions.do_change_meter_status(
            self.request.user,
            meter,
            status=data["status"],
            reason=data["reason"],
            verified_on=data["verified_on"],
        )
