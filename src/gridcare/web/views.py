"""Reusable staff-screen patterns: list (filters, pagination, Excel export), detail, action form, workbench.

Screens of every app are declared with these classes (model, filterset, columns, permission) instead of being
hand-written, so scope, permissions, errors and export behave the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import models
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import RedirectView, TemplateView

from gridcare.core.access import has_perm, restrict
from gridcare.core.errors import GridcareError, InvalidInput, NotFound, PermissionRefused
from gridcare.core.models import AuditEntry
from gridcare.core.requests import StaffHttpRequest
from gridcare.core.scoped import ScopedForm
from gridcare.web import workbench
from gridcare.web.display import display, export_value, model_field, permission_names, with_unit
from gridcare.web.excel import workbook_response
from gridcare.web.flags import Flag

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Column:
    """One column of a list: a label and an attribute path (``org_unit.name``) or a function of the row.

    Cells go through :func:`gridcare.web.display.display` (choice labels, units, local time, no ``None``);
    ``unit`` gives the unit of a computed column (a model field declares its own in ``display_units``)."""

    label: str | Promise
    accessor: str | Callable[[Any], Any]
    link: bool = False
    unit: str | None = None

    def resolve(self, obj: Any) -> tuple[Any, Any, Any]:
        """(raw value, the model field it comes from or None, the object holding that field)."""
        if callable(self.accessor):
            return self.accessor(obj), None, obj
        value: Any = obj
        owner: Any = obj
        field: Any = None
        for part in self.accessor.split("."):
            owner, field = value, model_field(value, part)
            value = getattr(value, part, None) if value is not None else None
            if callable(value) and not isinstance(value, models.Manager):
                value = value()
        return value, field, owner

    def value(self, obj: Any) -> str | Flag:
        value, field, owner = self.resolve(obj)
        if isinstance(value, Flag):  # a badge (list.html): its words are already what a person reads
            return value
        if self.unit and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return with_unit(value, self.unit, owner)
        return display(value, field, owner)

    def export(self, obj: Any) -> Any:
        """The Excel cell: numbers stay numbers (see :func:`gridcare.web.display.export_value`)."""
        value, field, owner = self.resolve(obj)
        return export_value(value, field, owner)


class StaffMixin(LoginRequiredMixin):
    """Signed-in staff holding ``permission`` — a code, or a tuple of codes any one of which suffices
    (refused with a 403 page naming it otherwise)."""

    permission: str | tuple[str, ...] | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        codes = (self.permission,) if isinstance(self.permission, str) else self.permission
        if codes is not None and not any(has_perm(request.user, code) for code in codes):
            names = " / ".join(permission_names(codes))
            raise PermissionDenied(_("This screen needs the permission: %(names)s.") % {"names": names})
        return super().dispatch(request, *args, **kwargs)


#: The page sizes a list offers (``?size=``); anything else falls back to the list's own size.
PAGE_SIZES = (25, 50, 100)


def page_size(raw: str | None, default: int) -> int:
    """The requested page size if it is one of :data:`PAGE_SIZES`, the list's default otherwise."""
    try:
        size = int(raw or "")
    except ValueError:
        return default
    return size if size in PAGE_SIZES else default


def page_numbers(page: Page, around: int = 2) -> list[int | None]:
    """The page links to show: first, last and ``around`` pages either side of the current one; ``None``
    where pages are left out (an ellipsis)."""
    last = page.paginator.num_pages
    shown = sorted({1, last, *range(max(1, page.number - around), min(last, page.number + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def carried_params(query: Any, *drop: str) -> list[tuple[str, str]]:
    """The query's parameters (the filters) as hidden-field pairs, without ``drop`` — so the jump box and the
    page-size choice keep the filters without JavaScript."""
    return [(key, value) for key, values in query.lists() if key not in drop for value in values]


class ScopedListView(StaffMixin, TemplateView):
    """A filtered, paginated list limited to the user's data scope, exportable to Excel (``?export=xlsx``)."""

    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    template_name = "web/list.html"
    model: type[models.Model]
    filterset_class: Any = None
    columns: list[Column] = []
    title: str | Promise = ""
    export_name = "export"
    paginate_by = 25
    create_url_name: str | None = None
    create_permission: str | None = None

    def base_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def get_filtered(self) -> tuple[Any, models.QuerySet]:
        queryset = restrict(self.base_queryset(), self.request.user)
        if self.filterset_class is None:
            return None, queryset
        filterset = self.filterset_class(self.request.GET or None, queryset=queryset, request=self.request)
        if filterset.is_bound and not filterset.is_valid():
            return filterset, queryset.none()
        return filterset, filterset.qs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        filterset, queryset = self.get_filtered()
        if not queryset.ordered:
            queryset = queryset.order_by(*(self.model._meta.ordering or ["pk"]))
        if request.GET.get("export") == "xlsx":
            headers = [str(c.label) for c in self.columns]
            rows = ([c.export(obj) for c in self.columns] for obj in queryset.iterator(chunk_size=2000))
            return workbook_response(self.export_name, str(self.title), headers, rows)
        size = page_size(request.GET.get("size"), self.paginate_by)
        paginator = Paginator(queryset, size)
        page = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = self.get_context_data(
            filterset=filterset,
            page=page,
            page_numbers=page_numbers(page),
            page_size=size,
            page_sizes=PAGE_SIZES,
            jump_params=carried_params(query),
            size_params=carried_params(query, "size"),
            rows=[(obj, [c.value(obj) for c in self.columns]) for obj in page.object_list],
            columns=self.columns,
            title=self.title,
            querystring=query.urlencode(),
            create_url_name=self.create_url_name
            if self.create_url_name and has_perm(request.user, self.create_permission or "")
            else None,
        )
        return self.render_to_response(context)


class AutocompleteView(StaffMixin, View):
    """The search behind a searchable select (``data-autocomplete``): at most :attr:`limit` rows of the user's
    data scope whose ``search_fields`` start with (numbers) or contain (names) the typed text, as
    ``{"results": [{"value": id, "text": label}]}``."""

    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    model: type[models.Model]
    #: lookups matched against the typed text, e.g. ``("number__startswith", "name__icontains")``
    search_fields: tuple[str, ...] = ()
    limit = 20

    def base_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def label(self, obj: Any) -> str:
        return str(obj)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        queryset = restrict(self.base_queryset(), self.request.user)
        text = request.GET.get("q", "").strip()[:100]
        if text:
            condition = models.Q()
            for lookup in self.search_fields:
                condition |= models.Q(**{lookup: text})
            queryset = queryset.filter(condition)
        if not queryset.ordered:
            queryset = queryset.order_by(*(self.model._meta.ordering or ["pk"]))
        results = [{"value": str(obj.pk), "text": self.label(obj)} for obj in queryset[: self.limit]]
        return JsonResponse({"results": results})


class ScopedDetailView(StaffMixin, TemplateView):
    """One object, answered with 404 when it is outside the user's data scope."""

    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    model: type[models.Model]
    lookup = "pk"

    def get_object(self) -> Any:
        queryset = restrict(self.model._default_manager.all(), self.request.user)
        try:
            return queryset.get(**{self.lookup: self.kwargs[self.lookup]})
        except (ObjectDoesNotExist, ValueError):
            raise Http404(_("Not found or outside your data scope.")) from None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        obj = self.get_object()
        context = super().get_context_data(object=obj, **kwargs)
        if has_perm(self.request.user, "audit.view"):
            context["history"] = AuditEntry.objects.filter(
                object_type=obj._meta.label_lower, object_id=str(obj.pk)
            ).select_related("actor")[:50]
        return context


def apply_error(form: forms.Form, error: GridcareError) -> None:
    """Show a business error on the form: field errors on their fields, the rest at the top."""
    if isinstance(error, InvalidInput):
        for field, msgs in error.errors.items():
            target = field if field in form.fields else None
            for msg in msgs:
                form.add_error(target, msg)
    else:
        form.add_error(None, error.message)


class ActionFormView(StaffMixin, View):
    """A form whose valid data is handed to an action; business errors come back onto the form."""

    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    template_name = "web/form.html"
    form_class: type[forms.Form]
    title: str | Promise = ""
    success_message: StrOrPromise = _("Saved.")

    def get_initial(self) -> dict[str, Any]:
        return {}

    def get_form(self, data: Any = None) -> forms.Form:
        if issubclass(self.form_class, ScopedForm):  # model choices limited to the user's data scope
            return self.form_class(data, initial=self.get_initial(), user=self.request.user)
        return self.form_class(data, initial=self.get_initial())

    def context(self, form: forms.Form) -> dict[str, Any]:
        return {"form": form, "title": self.title}

    def perform(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def success_url(self, result: Any) -> str:
        return result.get_absolute_url()

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, self.template_name, self.context(self.get_form()))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                result = self.perform(form.cleaned_data)
            except NotFound:
                raise Http404 from None
            except PermissionRefused as exc:
                apply_error(form, exc)
                return render(request, self.template_name, self.context(form), status=403)
            except GridcareError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, self.success_message)
                return HttpResponseRedirect(self.success_url(result))
        return render(request, self.template_name, self.context(form), status=400)


class WorkbenchView(StaffMixin, TemplateView):
    """工作台 — the home page of a position: a to-do list (my queue, approvals waiting for me), the position's
    KPIs this month and last month for the person and the unit, shortcuts, and the person's latest actions in words
    (all from :mod:`gridcare.web.workbench`)."""

    request: StaffHttpRequest  # signed in: StaffMixin refused everyone else

    template_name = "web/workbench.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        position = user.position
        recent = AuditEntry.objects.filter(actor=user).only("at", "action", "object_repr")[:10]
        return super().get_context_data(
            position=position,
            kpis=workbench.kpi_rows(user, position.kpis.all()) if position else [],
            kpi_unit=workbench.kpi_unit(user),
            todos=workbench.todos_for(user),
            approvals=workbench.approvals_for(user),
            recent=[
                (entry.at, workbench.describe_action(entry.action, entry.object_repr)) for entry in recent
            ],
            **kwargs,
        )


class FaviconView(RedirectView):
    """``/favicon.ico``, asked for by browsers on their own (and by every page before it names its icon): sent to
    the SVG icon that base.html links, instead of a 404 in every log."""

    permanent = True

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static("web/favicon.svg")
