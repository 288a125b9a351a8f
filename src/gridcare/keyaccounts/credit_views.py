"""Screens of credit scores (信用评价: list, monthly run, adjustment, approvals, rules) and sales expense budgets
(销售费用预算: execution table with its Excel export, budget lines, expenses, approvals of overruns)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_filters
import yaml
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import has_perm, restrict
from gridcare.core.requests import StaffHttpRequest
from gridcare.core.scoped import ScopedFilterSet
from gridcare.keyaccounts import budget_actions, credit_actions
from gridcare.keyaccounts.budget import budget_execution, by_region, execution_sheets
from gridcare.keyaccounts.credit import previous_month
from gridcare.keyaccounts.credit_forms import (
    AdjustForm,
    BudgetForm,
    ComputeForm,
    ExpenseForm,
    OverLimitDecisionForm,
    RulesForm,
)
from gridcare.keyaccounts.models import CreditAdjustment, CreditScore, SalesExpense
from gridcare.web.views import ActionFormView, Column, ScopedListView, StaffMixin

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CREDIT_READERS = ("keyaccount.manage", "credit.adjust", "credit.manage_rules")
BUDGET_READERS = ("budget.approve", "expense.record")


def credit_card(account_id: int) -> dict[str, Any]:
    """The 360 view's credit card: the score and grade in force, the reasons of the latest month, the history
    (chart) and the adjustments."""
    from gridcare.keyaccounts.conf import conf
    from gridcare.keyaccounts.selectors import credit_history

    history = credit_history(account_id, int(conf("CREDIT_HISTORY_MONTHS")))
    if not history:
        return {"latest": None}
    latest = history[-1]
    score, grade = credit_actions.effective(latest)
    reasons = [{**r, "text": _figure(r)} for r in credit_actions.reasons_of(latest)]
    rules = credit_actions.rules_of(latest)
    return {
        "latest": latest,
        "score": score,
        "grade": grade,
        "adjusted": (score, grade) != (latest.score, latest.grade),
        "reasons": reasons,
        "adjustments": [a for s in reversed(history) for a in s.adjustments.all()][:10],
        "chart": {
            "months": [s.month for s in history],
            "scores": [credit_actions.effective(s)[0] for s in history],
            "grades": [[g, m] for g, m in rules.grades if m > 0],
        },
    }


class CreditScoreFilter(ScopedFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")

    class Meta:
        model = CreditScore
        fields = ["q", "month", "grade"]

    def search(self, queryset: QuerySet[CreditScore], name: str, value: str) -> QuerySet[CreditScore]:
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(account__name__icontains=text) | Q(account__number__startswith=text))


def _top_reason(score: CreditScore) -> str:
    found = credit_actions.reasons_of(score)
    if not found:
        return "—"
    return "；".join(f"{r['label']} {_figure(r)}（−{r['points']}）" for r in found[:2])


def _figure(reason: dict[str, Any]) -> str:
    value = reason["value"]
    if value is None:
        return ""
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return f"{text}{reason['unit']}"


class CreditScoreListView(ScopedListView):
    """信用评价 — the monthly scores of the accounts in scope, with the grade in force and the main reasons."""

    model = CreditScore
    permission = CREDIT_READERS
    filterset_class = CreditScoreFilter
    title = _("Credit scores")
    export_name = "credit-scores"
    create_url_name = "keyaccounts:credit-compute"
    create_permission = "credit.manage_rules"
    columns = [
        Column(_("Month"), "month"),
        Column(_("Account number"), "account.number"),
        Column(_("Account name"), "account.name"),
        Column(_("Score"), "score"),
        Column(_("Grade"), "grade"),
        Column(_("Score in force"), lambda s: credit_actions.effective(s)[0], unit="分"),
        Column(_("Grade in force"), lambda s: credit_actions.effective(s)[1]),
        Column(_("Main reasons"), _top_reason),
    ]

    def base_queryset(self) -> Any:
        return CreditScore.objects.select_related("account", "rule_set").prefetch_related("adjustments")


class CreditComputeView(ActionFormView):
    permission = "credit.manage_rules"
    form_class = ComputeForm
    title = _("Compute the monthly credit scores")

    def get_initial(self) -> dict[str, Any]:
        return {"month": previous_month()}

    def perform(self, data: dict[str, Any]) -> Any:
        summary = credit_actions.do_compute_credit_scores(self.request.user, month=data["month"])
        self.success_message = _("%(month)s: %(count)s accounts scored.") % {
            "month": summary["month"],
            "count": f"{summary['scored']:,}",
        }
        return summary

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:credit-list") + f"?month={result['month']}"


class CreditAdjustView(ActionFormView):
    """调整信用分 — within one's limit at once, beyond it to approval (the form says which)."""

    permission = "credit.adjust"
    form_class = AdjustForm
    title = _("Adjust a credit score")
    success_message: StrOrPromise = _("Adjustment saved.")

    def get_initial(self) -> dict[str, Any]:
        return {"account": self.request.GET.get("account")}

    def perform(self, data: dict[str, Any]) -> Any:
        done = credit_actions.do_adjust_credit_score(
            self.request.user,
            data["account"],
            **{
                "points": data["points"],
                "reason": data["reason"],
            },
        )
        if done.status == CreditAdjustment.Status.PENDING:
            self.success_message = _("Beyond your limit: sent for approval to %(who)s.") % {
                "who": done.approvers
            }
        return done

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:credit-adjustments")


class AdjustmentFilter(ScopedFilterSet):
    class Meta:
        model = CreditAdjustment
        fields = ["status"]


class CreditAdjustmentListView(ScopedListView):
    """信用分调整 — the history of manual changes; those waiting link to their decision."""

    model = CreditAdjustment
    permission = CREDIT_READERS
    filterset_class = AdjustmentFilter
    title = _("Credit-score adjustments")
    export_name = "credit-adjustments"
    create_url_name = "keyaccounts:credit-adjust"
    create_permission = "credit.adjust"
    columns = [
        Column(_("Requested at"), "requested_at", link=True),
        Column(_("Account number"), "account.number"),
        Column(_("Account name"), "account.name"),
        Column(_("Month"), "score.month"),
        Column(_("Computed score"), "score.score"),
        Column(_("Score before"), "score_before"),
        Column(_("Score after"), "score_after"),
        Column(_("Grade after"), "grade_after"),
        Column(_("Reason"), "reason"),
        Column(_("Status"), "get_status_display"),
        Column(_("Who may approve"), "approvers"),
        Column(_("Requested by"), "requested_by.display_name"),
        Column(_("Decided by"), lambda a: a.decided_by.display_name if a.decided_by else None),
    ]

    def base_queryset(self) -> Any:
        return CreditAdjustment.objects.select_related("account", "score", "requested_by", "decided_by")


class CreditDecideView(ActionFormView):
    permission = "credit.adjust"
    form_class = OverLimitDecisionForm
    title = _("Decide a credit-score adjustment")

    def context(self, form: Any) -> dict[str, Any]:
        found = restrict(
            CreditAdjustment.objects.select_related("account", "score", "requested_by"), self.request.user
        )
        item = found.filter(pk=self.kwargs["pk"]).first()
        if item is None:
            raise Http404
        facts = [
            (_("Account"), f"{item.account.number} {item.account.name}"),
            (_("Month"), item.score.month),
            (_("Computed score"), item.score.score),
            (_("Change"), f"{item.score_before} → {item.score_after}（{item.grade_after}）"),
            (_("Reason"), item.reason),
            (_("Requested by"), item.requested_by.display_name),
            (_("Who may approve"), item.approvers or "—"),
            (_("Status"), item.get_status_display()),
        ]
        return {"form": form, "title": self.title, "facts": facts}

    def perform(self, data: dict[str, Any]) -> Any:
        return credit_actions.do_decide_credit_adjustment(self.request.user, self.kwargs["pk"], **data)

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:credit-adjustments")


class CreditRulesView(ActionFormView):
    """信用评价规则 — the current version as YAML; saving makes the next version (refused if a rule is wrong)."""

    permission = "credit.manage_rules"
    form_class = RulesForm
    title = _("Credit-score rules")
    success_message = _("New version of the rules saved; the next monthly run uses it.")

    def get_initial(self) -> dict[str, Any]:
        current = credit_actions.CreditRuleSet.objects.order_by("-version").first()
        text = yaml.safe_dump(current.rules, allow_unicode=True, sort_keys=False) if current else ""
        return {"rules": text}

    def context(self, form: Any) -> dict[str, Any]:
        current = credit_actions.CreditRuleSet.objects.order_by("-version").first()
        facts = [(_("Current version"), f"v{current.version}（{current.note or '—'}）")] if current else []
        return {"form": form, "title": self.title, "facts": facts}

    def perform(self, data: dict[str, Any]) -> Any:
        return credit_actions.do_set_credit_rules(self.request.user, rules=data["rules"], note=data["note"])

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:credit-rules")


# ------------------------------------------------------------------------------------------------- budgets


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else timezone.localdate().year


class BudgetListView(StaffMixin, TemplateView):
    """销售费用预算执行 — budget, spent, waiting, remaining, execution and variance by owner and by region."""

    request: StaffHttpRequest
    template_name = "keyaccounts/budget_list.html"
    permission = BUDGET_READERS

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        year = _year(self.request)
        rows = budget_execution(self.request.user, year)
        regions = by_region(rows, year)
        chart = {
            "regions": [r["region"] for r in regions],
            "budget": [float(r["budget"]) for r in regions],
            "spent": [float(r["spent"]) for r in regions],
        }
        return super().get_context_data(
            rows=rows,
            regions=regions,
            year=year,
            chart=chart,
            title=_("Sales expense budget"),
            can_set_budget=has_perm(self.request.user, "budget.approve"),
            can_record=has_perm(self.request.user, "expense.record"),
            **kwargs,
        )


class BudgetExportView(StaffMixin, View):
    request: StaffHttpRequest
    permission = BUDGET_READERS

    def get(self, request: HttpRequest) -> HttpResponse:
        from gridcare.web.excel import report_response

        year = _year(request)
        rows = budget_execution(self.request.user, year)
        return report_response(
            f"{year}年销售费用预算执行", f"budget-execution-{year}", execution_sheets(rows, year)
        )


class BudgetSetView(ActionFormView):
    permission = "budget.approve"
    form_class = BudgetForm
    title = _("Set a sales expense budget")
    success_message = _("Budget saved.")

    def get_initial(self) -> dict[str, Any]:
        return {"year": timezone.localdate().year}

    def perform(self, data: dict[str, Any]) -> Any:
        return budget_actions.do_set_budget(self.request.user, **data)

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:budget-list") + f"?year={result.year}"


class ExpenseFilter(ScopedFilterSet):
    class Meta:
        model = SalesExpense
        fields = ["status", "category"]


class ExpenseListView(ScopedListView):
    model = SalesExpense
    permission = BUDGET_READERS
    filterset_class = ExpenseFilter
    title = _("Sales expenses")
    export_name = "sales-expenses"
    create_url_name = "keyaccounts:expense-create"
    create_permission = "expense.record"
    columns = [
        Column(_("Date"), "day", link=True),
        Column(_("Region"), "budget.region.name"),
        Column(_("Budget owner"), "budget.owner.display_name"),
        Column(_("Category"), "get_category_display"),
        Column(_("Amount"), "amount"),
        Column(_("Description"), "description"),
        Column(_("Status"), "get_status_display"),
        Column(_("Over budget by"), "overrun"),
        Column(_("Who may approve"), "approvers"),
        Column(_("Recorded by"), "recorded_by.display_name"),
    ]

    def base_queryset(self) -> Any:
        return SalesExpense.objects.select_related("budget__region", "budget__owner", "recorded_by")


class ExpenseCreateView(ActionFormView):
    """登记销售费用 — over the remaining budget the form shows the figures and who may approve."""

    permission = "expense.record"
    form_class = ExpenseForm
    title = _("Record a sales expense")
    success_message: StrOrPromise = _("Expense recorded.")

    def get_initial(self) -> dict[str, Any]:
        return {"day": timezone.localdate(), "budget": self.request.GET.get("budget")}

    def perform(self, data: dict[str, Any]) -> Any:
        data = dict(data)
        done = budget_actions.do_record_expense(self.request.user, budget=data.pop("budget").pk, **data)
        if done.status == SalesExpense.Status.PENDING:
            self.success_message = _("Over budget: sent for approval to %(who)s.") % {"who": done.approvers}
        return done

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:expense-list")


class ExpenseDecideView(ActionFormView):
    permission = "budget.approve"
    form_class = OverLimitDecisionForm
    title = _("Decide an expense over budget")

    def context(self, form: Any) -> dict[str, Any]:
        found = restrict(
            SalesExpense.objects.select_related("budget__region", "budget__owner"), self.request.user
        )
        item = found.filter(pk=self.kwargs["pk"]).first()
        if item is None:
            raise Http404
        facts = [
            (
                _("Budget line"),
                f"{item.budget.year} {item.budget.region.name} · {item.budget.owner.display_name}",
            ),
            (_("Amount"), f"{item.amount:,.2f} 元"),
            (_("Over budget by"), f"{item.overrun:,.2f} 元"),
            (_("Description"), item.description),
            (_("Who may approve"), item.approvers or "—"),
            (_("Status"), item.get_status_display()),
        ]
        return {"form": form, "title": self.title, "facts": facts}

    def perform(self, data: dict[str, Any]) -> Any:
        return budget_actions.do_decide_expense(self.request.user, self.kwargs["pk"], **data)

    def success_url(self, result: Any) -> str:
        return reverse("keyaccounts:expense-list")
