"""Forms of the credit-score and sales-budget screens: shape only; the actions decide."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import CHOOSE, ScopedForm
from gridcare.customers.models import Account
from gridcare.keyaccounts.models import ExpenseCategory, SalesBudget
from gridcare.org.models import OrgUnit, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ComputeForm(forms.Form):
    month = forms.RegexField(
        label=_("Month"), regex=r"^\d{4}-\d{2}$", help_text=_("YYYY-MM; the last complete month by default")
    )


class AdjustForm(ScopedForm):
    """调整信用分 — an account of one's portfolio, the change in points (±) and the reason."""

    account = forms.ModelChoiceField(
        label=_("Account"),
        queryset=Account.objects.filter(credit_scores__isnull=False).distinct(),
        empty_label=CHOOSE,
    )
    points = forms.IntegerField(
        label=_("Change (points)"),
        min_value=-100,
        max_value=100,
        help_text=_(
            "Added to the score in force (negative: taken off); beyond your limit it goes to approval."
        ),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].label_from_instance = lambda a: f"{a.number} {a.name}"  # type: ignore[attr-defined]


class OverLimitDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("Approve")), ("0", _("Reject"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(label=_("Decision note"), max_length=200, required=False)


class RulesForm(forms.Form):
    """信用评价规则 — the rules as YAML (features, thresholds, points, weights, grades)."""

    rules = forms.CharField(
        label=_("Rules (YAML)"), widget=forms.Textarea(attrs={"rows": 24, "class": "font-monospace"})
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean_rules(self) -> Any:
        try:
            return yaml.safe_load(self.cleaned_data["rules"])
        except yaml.YAMLError as error:
            raise forms.ValidationError(_("Not valid YAML: %(error)s") % {"error": error}) from None


class BudgetForm(ScopedForm):
    """设定销售费用预算 — a year's budget of a region and an owner (one of one's people)."""

    routing_fields = {
        "region": "预算区域是组织机构名称，不是客户数据 (a budget region is an org-chart name, not data)"
    }

    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=OrgUnit.objects.filter(is_active=True).order_by("path"),
        empty_label=CHOOSE,
    )
    owner = forms.ModelChoiceField(
        label=_("Budget owner"),
        queryset=User.objects.filter(is_active=True, left_on__isnull=True),
        empty_label=CHOOSE,
    )
    amount = forms.DecimalField(label=_("Budget (元)"), min_value=0, max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]


class ExpenseForm(ScopedForm):
    """登记销售费用 — against one of one's budget lines; over the remaining budget it is refused unless sent for
    approval."""

    budget = forms.ModelChoiceField(
        label=_("Budget line"),
        queryset=SalesBudget.objects.select_related("region", "owner"),
        empty_label=CHOOSE,
    )
    day = forms.DateField(label=_("Date"), widget=DATE)
    category = forms.ChoiceField(label=_("Category"), choices=[("", CHOOSE), *ExpenseCategory.choices])
    amount = forms.DecimalField(label=_("Amount (元)"), min_value=0, max_digits=14, decimal_places=2)
    description = forms.CharField(label=_("Description"), max_length=200)
    request_approval = forms.BooleanField(
        label=_("If over the remaining budget, send it for approval"),
        required=False,
        widget=forms.CheckboxInput,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["budget"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = field.queryset.filter(year__gte=timezone.localdate().year - 1)  # type: ignore[union-attr]
        field.label_from_instance = lambda b: f"{b.year} {b.region.name} · {b.owner.display_name}"  # type: ignore[method-assign,assignment]
