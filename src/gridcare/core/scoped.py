"""Choice lists limited to the caller's data scope: the one place forms and filters resolve related ids.

Every ``ModelChoiceField`` / ``ModelMultipleChoiceField`` of a :class:`ScopedForm` and every ``ModelChoiceFilter``
/ ``ModelMultipleChoiceFilter`` of a :class:`ScopedFilterSet` has its queryset passed through
:func:`gridcare.core.access.restrict` for the user of the request. A drop-down therefore lists only what the user
may see, and an id outside the scope is refused exactly like an id that does not exist ("select a valid
choice"). Without a user the lists are empty: a form that forgets to say who is asking shows nothing rather than
everything. The DRF counterpart for API input is :class:`gridcare.api.fields.ScopedPrimaryKeyRelatedField`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as drf_filters
from django_filters.conf import settings as filter_settings

from gridcare.core.access import restrict

#: The form and filter fields whose queryset is restricted.
CHOICE_FIELDS = (forms.ModelChoiceField,)  # ModelMultipleChoiceField is a subclass
CHOICE_FILTERS = (django_filters.ModelChoiceFilter, django_filters.ModelMultipleChoiceFilter)


def scoped_choices(queryset: models.QuerySet[Any], user: Any) -> models.QuerySet[Any]:
    """``queryset`` limited to ``user``'s data scope (nothing without a user)."""
    if user is None:
        return queryset.none()
    return restrict(queryset, user)


def restrict_form_fields(fields: Mapping[str, forms.Field], user: Any, *, keep: Iterable[str] = ()) -> None:
    """Restrict the queryset of every model choice field among ``fields`` to ``user``'s scope (in place),
    except the fields named in ``keep``."""
    kept = set(keep)
    for name, field in fields.items():
        if name not in kept and isinstance(field, CHOICE_FIELDS) and field.queryset is not None:
            field.queryset = scoped_choices(field.queryset, user)


class ScopedForm(forms.Form):
    """A form whose model choices are limited to the data scope of ``user`` (a keyword argument).

    ``routing_fields`` names fields that deliberately list the whole active organisation — the units and people
    a work order can be handed to (派发/改派), with the reason. A handover target is not a read: it discloses a
    name, not data, and desks hand work to teams outside their own branch (the hotline to the billing team).
    Everything else is restricted."""

    routing_fields: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        restrict_form_fields(self.fields, user, keep=self.routing_fields)


if TYPE_CHECKING:  # what the mixin is mixed into, so the type checker knows ``self.filters``
    _FilterSetBase = django_filters.FilterSet
else:
    _FilterSetBase = object


#: The empty choice of every single-choice filter: "全部" rather than Django's "---------".
ALL = _("All")
#: The empty choice of a required select in a form: 请选择, so nothing is preselected and the user must pick.
CHOOSE = _("Please choose")
#: A yes/no filter reads 全部/是/否 (not NullBooleanSelect's 未知); values NullBooleanField understands.
YES_NO_CHOICES = (("", ALL), ("true", _("Yes")), ("false", _("No")))


class AutocompleteSelect(forms.Select):
    """A select that renders only its chosen option and names the JSON endpoint (``data-autocomplete``) the
    page's script searches, so a list of thousands of customers never reaches the page."""

    def __init__(self, url_name: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.url_name = url_name

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        attrs = {**(attrs or {}), "data-autocomplete": reverse(self.url_name)}
        return super().get_context(name, value, attrs)

    def optgroups(self, name: str, value: list[Any], attrs: dict[str, Any] | None = None) -> list[Any]:
        iterator: Any = self.choices  # a ModelChoiceIterator: only the chosen rows are looked up
        field = iterator.field
        chosen = [v for v in value if v not in ("", None)]
        options = [self.create_option(name, "", str(field.empty_label or ALL), not chosen, 0)]
        try:
            rows = list(field.queryset.filter(pk__in=chosen)) if chosen else []
        except (ValueError, TypeError, ValidationError):  # a malformed id: the form says so, nothing to show
            rows = []
        for index, row in enumerate(rows, start=1):
            options.append(self.create_option(name, str(row.pk), field.label_from_instance(row), True, index))
        return [(None, options, 0)]


class AutocompleteFilter(django_filters.ModelChoiceFilter):
    """Pick one row of a long list by searching it (``url_name`` answers the search, scoped); the chosen id is
    resolved again through the user's scope like every other model choice, so an id outside it matches
    nothing."""

    def __init__(self, *args: Any, url_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", AutocompleteSelect(url_name))
        super().__init__(*args, **kwargs)


def _list_defaults(filter_: django_filters.Filter) -> None:
    """The defaults users expect of a list's filter: 全部 as the empty choice, yes/no as 全部/是/否, dates
    picked in a date input.

    A form field built earlier from the class's filter (the API schema and the filter backend build them) is
    copied with the filter set and would keep Django's defaults: it is dropped whenever a default is applied, so
    the field is built again from the new settings."""
    widget = filter_.extra.get("widget")
    if isinstance(filter_, django_filters.BooleanFilter) and widget is None:
        filter_.extra["widget"] = forms.Select(choices=YES_NO_CHOICES)
    elif isinstance(filter_, django_filters.ChoiceFilter):  # ModelChoiceFilter too
        if (
            filter_.extra.get("empty_label", filter_settings.EMPTY_CHOICE_LABEL)
            != filter_settings.EMPTY_CHOICE_LABEL
        ):
            return
        filter_.extra["empty_label"] = ALL
    elif isinstance(filter_, django_filters.DateFilter) and widget is None:
        filter_.extra["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    else:
        return
    filter_.__dict__.pop("_field", None)


class _ScopedFilterMixin(_FilterSetBase):
    """Restrict every model choice filter to the request's user (the filtered queryset itself is the caller's:
    lists restrict it before filtering) and give every filter the list defaults (:func:`_list_defaults`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        for filter_ in self.filters.values():
            _list_defaults(filter_)
            if not isinstance(filter_, CHOICE_FILTERS):
                continue
            queryset = filter_.get_queryset(self.request)
            filter_.queryset = scoped_choices(queryset, user)


class ScopedFilterSet(_ScopedFilterMixin, django_filters.FilterSet):
    """Base of every FilterSet of a list screen or API list: its choice filters list only what the user sees."""


class ScopedRestFilterSet(_ScopedFilterMixin, drf_filters.FilterSet):
    """The base DRF builds ``filterset_fields`` filtersets on (see :class:`ScopedFilterBackend`)."""


class ScopedFilterBackend(drf_filters.DjangoFilterBackend):
    """DRF's filter backend with :class:`ScopedRestFilterSet` as the base of generated filtersets."""

    filterset_base = ScopedRestFilterSet
