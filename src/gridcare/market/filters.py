"""FilterSets shared by the market screens and the REST API."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedFilterSet
from gridcare.keyaccounts.models import Industry
from gridcare.market.models import (
    QUALIFIES,
    Contractor,
    ContractorKind,
    ResearchReport,
    SampleEntry,
    Survey,
)
from gridcare.market.selectors import qualifying, search_reports


class ReportFilter(ScopedFilterSet):
    """市场调研报告 — search the text; filter by industry, region (org code), prospect, author, date range. The
    rows are already those the user may read (selectors.visible_reports)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    industry = django_filters.ChoiceFilter(label=_("Industry"), choices=Industry.choices)
    region = django_filters.CharFilter(label=_("Region (code)"), method="in_region")
    prospect = django_filters.NumberFilter(label=_("Prospect"), field_name="prospect_id")
    author = django_filters.NumberFilter(label=_("Author"), field_name="author_id")
    written_from = django_filters.DateFilter(label=_("From"), field_name="written_on", lookup_expr="gte")
    written_to = django_filters.DateFilter(label=_("To"), field_name="written_on", lookup_expr="lte")

    class Meta:
        model = ResearchReport
        fields = ["q", "industry", "region", "prospect", "author", "written_from", "written_to"]

    def search(self, queryset: QuerySet[ResearchReport], name: str, value: str) -> QuerySet[ResearchReport]:
        return search_reports(queryset, value)

    def in_region(
        self, queryset: QuerySet[ResearchReport], name: str, value: str
    ) -> QuerySet[ResearchReport]:
        code = value.strip()[:32]
        if not code:
            return queryset
        return queryset.filter(Q(region__code=code) | Q(region__path__contains=f"/{code}/"))


class SurveyFilter(ScopedFilterSet):
    class Meta:
        model = Survey
        fields = ["status"]


class SampleFilter(ScopedFilterSet):
    survey = django_filters.NumberFilter(label=_("Survey"), field_name="survey_id")

    class Meta:
        model = SampleEntry
        fields = ["survey", "status"]


STATUS_CHOICES = [
    ("valid", _("Valid")),
    ("expired", _("Expired or none")),
]


class ContractorFilter(ScopedFilterSet):
    """资质库 — by kind, name, and whether a qualification of the kind is valid today (or on ``on``)."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ContractorKind.choices)
    status = django_filters.ChoiceFilter(label=_("Qualification"), choices=STATUS_CHOICES, method="by_status")
    on = django_filters.DateFilter(label=_("Valid on"), method="noop")

    class Meta:
        model = Contractor
        fields = ["q", "kind", "status", "on"]

    def search(self, queryset: QuerySet[Contractor], name: str, value: str) -> QuerySet[Contractor]:
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(name__icontains=text) | Q(credit_code=text.upper()))

    def noop(self, queryset: QuerySet[Contractor], name: str, value: dt.date) -> QuerySet[Contractor]:
        return queryset

    def by_status(self, queryset: QuerySet[Contractor], name: str, value: str) -> QuerySet[Contractor]:
        day = self.form.cleaned_data.get("on") or timezone.localdate()
        valid = Q()
        for kind in QUALIFIES:
            valid |= Q(pk__in=Contractor.objects.filter(qualifying(kind, day), kind=kind).values("pk"))
        return queryset.filter(valid) if value == "valid" else queryset.exclude(valid)
