from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from gridcare.core.scoped import ScopedFilterSet
from gridcare.tariffs.models import Tariff


class TariffFilter(ScopedFilterSet):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    code = django_filters.CharFilter(label=_("Code"), lookup_expr="istartswith")

    class Meta:
        model = Tariff
        fields = ["name", "code", "kind", "customer_class"]
