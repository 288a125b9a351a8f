"""Tariff screens: catalogue, versions, upload, bill trial calculator (电费试算), basic-charge comparison."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from gridcare.core.access import has_perm
from gridcare.core.errors import GridcareError, InvalidInput
from gridcare.engine.rating import Usage
from gridcare.tariffs import actions, selectors
from gridcare.tariffs.filters import TariffFilter
from gridcare.tariffs.forms import CompareBasicForm, QuoteForm, TariffUploadForm, VersionUploadForm
from gridcare.tariffs.models import Tariff
from gridcare.tariffs.parsing import read_definition
from gridcare.tariffs.presentation import HOURS, version_view
from gridcare.tariffs.selectors import engine_tariff
from gridcare.web.views import (
    ActionFormView,
    Column,
    ScopedDetailView,
    ScopedListView,
    StaffMixin,
    apply_error,
)


class TariffListView(ScopedListView):
    model = Tariff
    permission = "tariff.view"
    filterset_class = TariffFilter
    title = _("Tariff catalogue")
    export_name = "tariffs"
    create_url_name = "tariffs:tariff-upload"
    create_permission = "tariff.manage"
    columns = [
        Column(_("Name"), "name"),
        Column(_("Code"), "code"),
        Column(_("Kind"), "get_kind_display"),
        Column(_("Province"), "province"),
        Column(_("Customer class"), "customer_class"),
        Column(_("Versions"), "version_count"),
    ]

    def base_queryset(self):
        return Tariff.objects.annotate(version_count=Count("versions"))


class TariffDetailView(ScopedDetailView):
    model = Tariff
    permission = "tariff.view"
    template_name = "tariffs/tariff_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        tariff = context["object"]
        try:
            parsed = {v.valid_from: version_view(v) for v in engine_tariff(tariff).versions}
        except InvalidInput:  # a URDB tariff, or a stored version that no longer validates
            parsed = {}
        context["versions"] = [
            {"version": v, "view": parsed.get(v.valid_from)} for v in tariff.versions.all()
        ]
        context["hours"] = HOURS
        context["can_manage"] = has_perm(self.request.user, "tariff.manage")
        context["is_two_part"] = any(
            c.get("kind") == "basic" for v in tariff.versions.all() for c in v.body.get("components", [])
        )
        return context


class TariffUploadView(ActionFormView):
    permission = "tariff.manage"
    form_class = TariffUploadForm
    title = _("Add a tariff from a definition file")

    def get_form(self, data: Any = None) -> TariffUploadForm:
        return self.form_class(data, self.request.FILES if data is not None else None)

    def perform(self, data: dict[str, Any]) -> Tariff:
        upload = data["file"]
        doc = read_definition(upload.read(), upload.name)
        if data["kind"] == "urdb":
            return actions.do_import_urdb_tariff(self.request.user, doc, code=data["code"])
        return actions.do_import_tariff(self.request.user, doc)


class VersionUploadView(ActionFormView):
    permission = "tariff.manage"
    form_class = VersionUploadForm
    title = _("Add a tariff version (price change)")

    def get_form(self, data: Any = None) -> VersionUploadForm:
        return self.form_class(data, self.request.FILES if data is not None else None)

    def perform(self, data: dict[str, Any]) -> Tariff:
        tariff = get_object_or_404(Tariff, pk=self.kwargs["pk"])
        upload = data["file"]
        actions.do_add_tariff_version(self.request.user, tariff, read_definition(upload.read(), upload.name))
        return tariff


class _TariffToolView(StaffMixin, View):
    """A read-only calculation screen over one tariff (no writes, so no action)."""

    permission = "tariff.view"
    form_class: type
    template_name: str

    def tariff(self) -> Tariff:
        return get_object_or_404(Tariff, pk=self.kwargs["pk"], kind=Tariff.Kind.CHINESE)

    def calculate(self, tariff: Tariff, form: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tariff = self.tariff()
        bound = bool(request.GET)
        form = self.form_class(request.GET if bound else None)
        context: dict[str, Any] = {"tariff": tariff, "form": form}
        status = 200
        if bound and form.is_valid():
            try:
                context.update(self.calculate(tariff, form))
            except GridcareError as exc:
                apply_error(form, exc)
                status = 400
        elif bound:
            status = 400
        return render(request, self.template_name, context, status=status)


class QuoteView(_TariffToolView):
    form_class = QuoteForm
    template_name = "tariffs/quote.html"

    def calculate(self, tariff: Tariff, form: QuoteForm) -> dict[str, Any]:
        data = form.cleaned_data
        usage = Usage(
            period_start=data["period_start"],
            period_end=data["period_end"],
            energy_kwh=form.energy(),
            reactive_kvarh=data.get("reactive_kvarh"),
            capacity_kva=data.get("capacity_kva"),
            contracted_demand_kw=data.get("contracted_demand_kw"),
            max_demand_kw=data.get("max_demand_kw"),
            basic_basis=data.get("basic_basis") or None,
            tier_ytd_kwh=data.get("tier_ytd_kwh") or 0,
        )
        return {"bill": selectors.quote(tariff, usage)}


class CompareBasicView(_TariffToolView):
    form_class = CompareBasicForm
    template_name = "tariffs/compare.html"

    def calculate(self, tariff: Tariff, form: CompareBasicForm) -> dict[str, Any]:
        data = form.cleaned_data
        comparison = selectors.compare_basic_charge(
            tariff,
            capacity_kva=data["capacity_kva"],
            contracted_demand_kw=data["contracted_demand_kw"],
            max_demand_kw=data["max_demand_kw"],
            year=data["year"],
        )
        return {"comparison": comparison}
