"""Key-account screens: the portfolio and the key-account 360 view, the visit plan and visit records, prospects
(register, list, detail with the audited contact, pipeline charts) and, for managers, the collisions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.customers.models import Account
from gridcare.keyaccounts import actions
from gridcare.keyaccounts.filters import CollisionFilter, KeyAccountFilter, PlanFilter, ProspectFilter
from gridcare.keyaccounts.forms import DecisionForm, PlanForm, ProspectForm, ProspectUpdateForm, VisitForm
from gridcare.keyaccounts.models import Collision, KeyAccount, Prospect, Visit, VisitPlanItem
from gridcare.keyaccounts.selectors import (
    VIEW_ALL,
    account_360,
    pipeline,
    plan_completion,
    portfolio,
    prospect_in_scope,
    visible_prospects,
)
from gridcare.web.views import ActionFormView, Column, ScopedListView, StaffMixin, apply_error

PROSPECT_PERMS = ("prospect.register", VIEW_ALL)


class PortfolioView(ScopedListView):
    """大客户档案 — the key accounts the user manages (managers: of their scope)."""

    model = KeyAccount
    permission = "keyaccount.manage"
    filterset_class = KeyAccountFilter
    title = _("Key-account portfolio")
    export_name = "key-accounts"
    columns = [
        Column(_("Account number"), "account.number", link=True),
        Column(_("Account name"), "account.name"),
        Column(_("Importance grade"), "get_grade_display"),
        Column(_("Capacity"), "capacity_kva"),
        Column(_("Annual consumption"), "annual_kwh"),
        Column(
            _("Key account manager"),
            lambda ka: ka.account.account_manager.display_name if ka.account.account_manager else "—",
        ),
        Column(_("Supply unit"), "account.org_unit.name"),
    ]

    def base_queryset(self) -> Any:
        return portfolio(self.request.user)


class KeyAccountDetailView(StaffMixin, TemplateView):
    """大客户 360 — consumption and demand trend, bills, arrears (once the ledger exists), work orders, visits,
    plan and contracts of one key account."""

    request: StaffHttpRequest
    template_name = "keyaccounts/account_detail.html"
    permission = "keyaccount.manage"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        found = portfolio(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if found is None:
            raise Http404(_("Not found or outside your data scope."))
        data = account_360(self.request.user, found)
        chart = {"months": data.months, "kwh": data.kwh, "demand": data.demand_kw}
        from gridcare.keyaccounts.credit_views import credit_card

        return super().get_context_data(
            view=data,
            object=found,
            chart=chart,
            title=str(found),
            credit=credit_card(found.account_id),
            can_adjust_credit=has_perm(self.request.user, "credit.adjust"),
            **kwargs,
        )


class PlanListView(ScopedListView):
    """大客户回访计划 — planned visits with their status; overdue ones first among the open."""

    model = VisitPlanItem
    permission = "keyaccount.manage"
    filterset_class = PlanFilter
    title = _("Visit plan")
    export_name = "visit-plan"
    template_name = "keyaccounts/plan_list.html"
    columns = [
        Column(_("Planned on"), "planned_on"),
        Column(_("Account number"), "account.number"),
        Column(_("Account name"), "account.name"),
        Column(_("Key account manager"), "manager.display_name"),
        Column(_("Status"), "get_status_display"),
        Column(_("Visited on"), lambda item: item.visit.visited_on if item.visit else None),
    ]

    def base_queryset(self) -> Any:
        return VisitPlanItem.objects.select_related("account", "manager", "visit").order_by(
            "planned_on", "pk"
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        year = timezone.localdate().year
        mine = restrict(VisitPlanItem.objects.filter(year=year), self.request.user)
        done, due = plan_completion(mine, timezone.localdate())
        context.update(
            completion_done=done,
            completion_due=due,
            year=year,
            rate=round(100 * done / due, 1) if due else None,
        )
        return context


class PlanGenerateView(ActionFormView):
    permission = "keyaccount.manage"
    form_class = PlanForm
    title = _("Generate the visit plan")

    def get_initial(self) -> dict[str, Any]:
        return {"year": timezone.localdate().year}

    def perform(self, data: dict[str, Any]) -> Any:
        created = actions.do_generate_visit_plan(self.request.user, year=data["year"])
        self.success_message = _("%(count)s visits planned.") % {"count": created}
        return created

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:plan-list")


class VisitListView(ScopedListView):
    model = Visit
    permission = "keyaccount.manage"
    title = _("Key-account visits")
    export_name = "key-visits"
    create_url_name = "keyaccounts:visit-create"
    create_permission = "keyaccount.manage"
    columns = [
        Column(_("Visited on"), "visited_on"),
        Column(_("Account name"), "account.name"),
        Column(_("People met"), "people_met"),
        Column(_("Topics"), "topics"),
        Column(_("Demands raised"), "demands"),
        Column(_("Follow-up work order"), lambda v: v.work_order.number if v.work_order else None),
        Column(_("Visited by"), "manager.display_name"),
    ]

    def base_queryset(self) -> Any:
        return Visit.objects.select_related("account", "manager", "work_order")


class VisitCreateView(ActionFormView):
    """登记回访 — only key accounts of one's portfolio are offered, and the action refuses any other."""

    permission = "keyaccount.manage"
    form_class = VisitForm
    title = _("Record a visit")
    success_message = _("Visit recorded.")

    def get_initial(self) -> dict[str, Any]:
        return {"visited_on": timezone.localdate(), "account": self.request.GET.get("account")}

    def get_form(self, data: Any = None) -> Any:
        form = super().get_form(data)
        field = form.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Account.objects.filter(key_account__in=portfolio(self.request.user))
        return form

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_record_visit(self.request.user, **data)

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:visit-list")


class ProspectListView(ScopedListView):
    """备案客户 — one's own prospects (managers: all of their scope); search and export see the same rows."""

    model = Prospect
    permission = PROSPECT_PERMS
    filterset_class = ProspectFilter
    title = _("Prospects")
    export_name = "prospects"
    create_url_name = "keyaccounts:prospect-create"
    create_permission = "prospect.register"
    columns = [
        Column(_("Registration number"), "number", link=True),
        Column(_("Company name"), "name"),
        Column(_("Industry"), "get_industry_display"),
        Column(_("Region"), "region.name"),
        Column(_("Stage"), "get_stage_display"),
        Column(_("Expected capacity"), "expected_capacity_kva"),
        Column(_("Next action"), "next_action"),
        Column(_("Next action on"), "next_action_on"),
        Column(_("Owner"), "owner.display_name"),
        Column(_("Registration status"), "get_status_display"),
    ]

    def base_queryset(self) -> Any:
        return visible_prospects(self.request.user)


class ProspectCreateView(ActionFormView):
    """客户备案 — a collision is shown on the form as "already registered", never with the holder."""

    permission = "prospect.register"
    form_class = ProspectForm
    title = _("Register a prospect")
    success_message = _("Prospect registered.")

    def perform(self, data: dict[str, Any]) -> Any:
        result = actions.do_register_prospect(self.request.user, **data)
        if result.refused:
            self.refusal = result.message
        return result

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.refusal = ""
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                result = self.perform(form.cleaned_data)
            except GridcareError as exc:
                apply_error(form, exc)
            else:
                if not result.refused:
                    messages.success(request, self.success_message)
                    return HttpResponseRedirect(result.prospect.get_absolute_url())
                form.add_error(None, result.message)
                return render(request, self.template_name, self.context(form), status=409)
        return render(request, self.template_name, self.context(form), status=400)


class ProspectDetailView(StaffMixin, TemplateView):
    """One prospect (404 outside what the user may see); the contact appears only after "show", audited."""

    request: StaffHttpRequest
    template_name = "keyaccounts/prospect_detail.html"
    permission = PROSPECT_PERMS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        try:
            prospect = prospect_in_scope(self.request.user, self.kwargs["pk"])
        except NotFound:
            raise Http404(_("Not found or outside your data scope.")) from None
        return super().get_context_data(
            object=prospect,
            title=str(prospect),
            contact=self.request.session.pop(f"prospect-contact-{prospect.pk}", None),
            can_convert=has_perm(self.request.user, "prospect.convert")
            and prospect.stage == "won"
            and prospect.status == "held",
            held=prospect.status == "held",
            **kwargs,
        )


class ProspectContactView(StaffMixin, View):
    """查看联系方式 (POST, audited): the contact is shown once on the detail page."""

    request: StaffHttpRequest
    permission = PROSPECT_PERMS

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            contact = actions.do_view_prospect_contact(self.request.user, pk)
        except NotFound:
            raise Http404 from None
        request.session[f"prospect-contact-{pk}"] = contact
        return HttpResponseRedirect(reverse("keyaccounts:prospect-detail", args=[pk]))


class ProspectConvertView(StaffMixin, View):
    request: StaffHttpRequest
    permission = "prospect.convert"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            prospect = actions.do_convert_prospect(self.request.user, pk)
        except NotFound:
            raise Http404 from None
        except GridcareError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(reverse("keyaccounts:prospect-detail", args=[pk]))
        messages.success(request, _("The prospect is now a customer."))
        return HttpResponseRedirect(reverse("customers:customer-detail", args=[prospect.customer_id]))


class ProspectUpdateView(ActionFormView):
    permission = PROSPECT_PERMS
    form_class = ProspectUpdateForm
    title = _("Update the prospect")

    def prospect(self) -> Prospect:
        try:
            return prospect_in_scope(self.request.user, self.kwargs["pk"], write=True)
        except NotFound:
            raise Http404 from None

    def get_initial(self) -> dict[str, Any]:
        p = self.prospect()
        return {
            "stage": p.stage,
            "lost_reason": p.lost_reason,
            "next_action": p.next_action,
            "next_action_on": p.next_action_on,
        }

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_update_prospect(self.request.user, self.kwargs["pk"], **data)


class PipelineView(StaffMixin, TemplateView):
    """客户开发计划 — prospects by stage, by owner and by region, and the conversion rate, as charts."""

    request: StaffHttpRequest
    template_name = "keyaccounts/pipeline.html"
    permission = PROSPECT_PERMS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        data = pipeline(self.request.user)
        return super().get_context_data(
            data=data,
            stage_totals=list(zip(data["stages"], data["totals"], strict=True)),
            title=_("Development pipeline"),
            **kwargs,
        )


class CollisionListView(ScopedListView):
    """撞单记录 — for managers: who tried to register what, and who holds it."""

    model = Collision
    permission = VIEW_ALL
    filterset_class = CollisionFilter
    title = _("Registration collisions")
    export_name = "collisions"
    columns = [
        Column(_("Attempted at"), "attempted_at", link=True),
        Column(_("Company name"), "name"),
        Column(_("Reason"), "get_reason_display"),
        Column(_("Similarity"), "score"),
        Column(_("Claimant"), "claimant.display_name"),
        Column(_("Held by"), lambda c: c.prospect.owner.display_name if c.prospect else _("Customer")),
        Column(_("Held prospect"), lambda c: c.prospect.number if c.prospect else None),
        Column(_("Decision"), "get_decision_display"),
    ]

    def base_queryset(self) -> Any:
        return Collision.objects.select_related("claimant", "prospect__owner")


class CollisionDecideView(ActionFormView):
    permission = VIEW_ALL
    form_class = DecisionForm
    title = _("Decide a registration dispute")

    def context(self, form: Any) -> dict[str, Any]:
        found = restrict(Collision.objects.select_related("claimant", "prospect__owner"), self.request.user)
        collision = found.filter(pk=self.kwargs["pk"]).first()
        if collision is None:
            raise Http404
        holder = collision.prospect.owner.display_name if collision.prospect else _("Customer")
        facts = [
            (_("Company name"), collision.name),
            (_("Reason"), collision.get_reason_display()),
            (_("Claimant"), collision.claimant.display_name),
            (_("Held by"), holder),
            (_("Held prospect"), str(collision.prospect) if collision.prospect else "—"),
            (_("Decision"), collision.get_decision_display()),
        ]
        return {"form": form, "title": self.title, "facts": facts}

    def perform(self, data: dict[str, Any]) -> Any:
        return actions.do_decide_collision(self.request.user, self.kwargs["pk"], **data)

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:collision-list")
