"""Customer screens: lists, the customer 360 page (客户全景视图) with contributed tabs, fast search, dated
changes, supply contracts and the Excel import — declared with the shared list/detail/form patterns."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import models
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import get_in_scope, has_perm
from gridcare.core.errors import Conflict, GridcareError, NotFound
from gridcare.core.requests import StaffHttpRequest
from gridcare.customers import actions
from gridcare.customers.filters import AccountFilter, ContractFilter, CustomerFilter, ServicePointFilter
from gridcare.customers.forms import (
    AccountEditForm,
    AccountForm,
    CapacityChangeForm,
    ClassChangeForm,
    ContactForm,
    ContractForm,
    CustomerEditForm,
    CustomerForm,
    DemandChangeForm,
    ImportForm,
    ServicePointForm,
    TariffChangeForm,
)
from gridcare.customers.importing import error_sheet_path, run_import
from gridcare.customers.masking import mask_id_number, mask_mobile
from gridcare.customers.models import Account, Customer, ServicePoint, SupplyContract
from gridcare.customers.selectors import expiring_contracts, search_accounts
from gridcare.customers.tabs import customer_tabs
from gridcare.web.excel import XLSX_CONTENT_TYPE
from gridcare.web.views import (
    ActionFormView,
    AutocompleteView,
    Column,
    ScopedDetailView,
    ScopedListView,
    StaffMixin,
)


def _in_scope(request: HttpRequest, model: type[models.Model], pk: Any, *, write: bool = False) -> Any:
    """The object if the user may read it (``write``: change it, the forms below); 404 otherwise."""
    try:
        return get_in_scope(model._default_manager.all(), request.user, write=write, pk=pk)
    except NotFound:
        raise Http404 from None


# ---------------------------------------------------------------------------------------------- lists
class CustomerListView(ScopedListView):
    model = Customer
    permission = "customer.view"
    filterset_class = CustomerFilter
    title = _("Customers")
    export_name = "customers"
    create_url_name = "customers:customer-create"
    create_permission = "customer.manage"
    columns = [
        Column(_("Name"), "name"),
        Column(_("Customer number"), "number"),
        Column(_("Kind"), "get_kind_display"),
        Column(_("ID type"), "get_id_type_display"),
        Column(_("ID number"), lambda c: mask_id_number(c.id_number)),
        Column(_("Managing unit"), "org_unit.name"),
        Column(_("Created at"), "created_at"),
    ]

    def base_queryset(self):
        return Customer.objects.select_related("org_unit")


class AccountListView(ScopedListView):
    model = Account
    permission = "customer.view"
    filterset_class = AccountFilter
    title = _("Accounts")
    export_name = "accounts"
    columns = [
        Column(_("Account number"), "number"),
        Column(_("Account name"), "name"),
        Column(_("Service station"), "org_unit.name"),
        Column(_("Billing cycle"), "get_billing_cycle_display"),
        Column(_("Payment method"), "get_payment_method_display"),
        Column(_("Key account"), "is_key_account"),
        Column(_("Account manager"), "account_manager.display_name"),
        Column(_("Credit rating"), "credit_rating"),
        Column(_("Status"), "get_status_display"),
    ]

    def base_queryset(self):
        return Account.objects.select_related("org_unit", "account_manager")


class ServicePointListView(ScopedListView):
    model = ServicePoint
    permission = "customer.view"
    filterset_class = ServicePointFilter
    title = _("Service points")
    export_name = "service-points"
    columns = [
        Column(_("Service point number"), "number"),
        Column(_("Address"), "address"),
        Column(_("Account number"), "account.number"),
        Column(_("Service station"), "org_unit.name"),
        Column(_("Voltage level"), "voltage_level"),
        Column(_("Customer class"), "get_customer_class_display"),
        Column(_("Tariff code"), "tariff_code"),
        Column(_("Contracted capacity (kVA)"), "capacity_kva"),
        Column(_("Metering class"), "metering_class"),
        Column(_("Important customer"), "is_important"),
    ]

    def base_queryset(self):
        return ServicePoint.objects.select_related("account", "org_unit")


class ContractListView(ScopedListView):
    model = SupplyContract
    permission = "customer.view"
    filterset_class = ContractFilter
    title = _("Supply contracts")
    export_name = "contracts"
    columns = [
        Column(_("Contract number"), "number"),
        Column(_("Customer (party B)"), "customer_name"),
        Column(_("Account number"), "account.number"),
        Column(_("Term from"), "valid_from"),
        Column(_("Term to"), "valid_to"),
        Column(_("Contracted capacity (kVA)"), "capacity_kva"),
        Column(_("Contracted demand (kW)"), "contracted_demand_kw"),
        Column(_("Status"), "get_state_display"),
    ]

    def base_queryset(self):
        return SupplyContract.objects.select_related("account")


class ExpiringContractListView(ContractListView):
    """合同到期清单 — contracts in force ending within the configured number of days (default 60)."""

    title = _("Contracts expiring soon")
    export_name = "contracts-expiring"

    def base_queryset(self):
        return expiring_contracts(self.request.user)


# ---------------------------------------------------------------------------------------------- searchable selects
class CustomerAutocompleteView(AutocompleteView):
    """客户 by number or name, for the searchable customer filters."""

    model = Customer
    permission = "customer.view"
    search_fields = ("number__startswith", "name__icontains")


class AccountAutocompleteView(AutocompleteView):
    """户号 by number or name."""

    model = Account
    permission = "customer.view"
    search_fields = ("number__startswith", "name__icontains")


class ServicePointAutocompleteView(AutocompleteView):
    """用电地址 by number or address."""

    model = ServicePoint
    permission = "customer.view"
    search_fields = ("number__startswith", "address__icontains")


# ---------------------------------------------------------------------------------------------- 360 page
class CustomerDetailView(ScopedDetailView):
    """客户全景视图 — the customer, masked identity, contacts, and the tabs apps contribute."""

    model = Customer
    permission = "customer.view"
    template_name = "customers/customer_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        customer = context["object"]
        tabs = customer_tabs(self.request.user)
        active = next((t for t in tabs if t.key == self.request.GET.get("tab")), tabs[0] if tabs else None)
        context.update(
            masked_id=mask_id_number(customer.id_number),
            contacts=[(c, mask_mobile(c.mobile)) for c in customer.contacts.all()],
            tabs=tabs,
            active=active,
            active_html=active.render(self.request, customer) if active else "",
            can_unmask=has_perm(self.request.user, "customer.unmask"),
            can_manage=has_perm(self.request.user, "customer.manage"),
        )
        return context


class CustomerTabView(StaffMixin, View):
    """One tab of the 360 page, loaded with htmx."""

    permission = "customer.view"

    def get(self, request: HttpRequest, pk: int, key: str) -> HttpResponse:
        customer = _in_scope(request, Customer, pk)
        tab = next((t for t in customer_tabs(request.user) if t.key == key), None)
        if tab is None:
            raise Http404
        return HttpResponse(tab.render(request, customer))


class CustomerUnmaskView(StaffMixin, View):
    """The "show" button: clear ID and mobile numbers, written to the audit log."""

    permission = "customer.unmask"

    def post(self, request: StaffHttpRequest, pk: int) -> HttpResponse:
        customer = _in_scope(request, Customer, pk)
        data = actions.do_unmask_customer(request.user, customer)
        return render(request, "customers/unmasked.html", {"data": data})


# ---------------------------------------------------------------------------------------------- forms
class CustomerCreateView(ActionFormView):
    permission = "customer.manage"
    form_class = CustomerForm
    title = _("New customer")

    def perform(self, data: dict[str, Any]) -> Customer:
        contact = {"name": data.pop("contact_name"), "mobile": data.pop("contact_mobile"), "is_primary": True}
        try:
            return actions.do_create_customer(self.request.user, contacts=[contact], **data)
        except actions.DuplicateCustomer as duplicate:
            if duplicate.existing is None:
                raise
            existing = duplicate.existing
            raise Conflict(  # the same message, with the number as a link to the existing customer
                format_html(
                    '已有客户「{}」（<a href="{}">{}</a>）使用该证件号码，请在该客户下办理。 '
                    "(Customer {} already has this ID number.)",
                    existing.name,
                    existing.get_absolute_url(),
                    existing.number,
                    existing.number,
                )
            ) from None


class CustomerEditView(ActionFormView):
    permission = "customer.manage"
    form_class = CustomerEditForm
    title = _("Edit customer")

    def customer(self) -> Customer:
        return _in_scope(self.request, Customer, self.kwargs["pk"], write=True)

    def get_initial(self) -> dict[str, Any]:
        customer = self.customer()
        return {"name": customer.name, "address": customer.address}

    def perform(self, data: dict[str, Any]) -> Customer:
        return actions.do_update_customer(self.request.user, self.customer(), **data)


class ContactCreateView(ActionFormView):
    permission = "customer.manage"
    form_class = ContactForm
    title = _("New contact")

    def perform(self, data: dict[str, Any]) -> Customer:
        customer = _in_scope(self.request, Customer, self.kwargs["pk"], write=True)
        actions.do_add_contact(self.request.user, customer, **data)
        return customer


class AccountCreateView(ActionFormView):
    permission = "customer.manage"
    form_class = AccountForm
    title = _("New account")

    def perform(self, data: dict[str, Any]) -> Account:
        customer = _in_scope(self.request, Customer, self.kwargs["pk"], write=True)
        return actions.do_create_account(self.request.user, customer=customer, **data)


class AccountEditView(ActionFormView):
    permission = ("customer.manage", "account.rate_credit", "account.change_status")  # the action: per field
    form_class = AccountEditForm
    title = _("Edit account")

    def account(self) -> Account:
        return _in_scope(self.request, Account, self.kwargs["pk"], write=True)

    def get_initial(self) -> dict[str, Any]:
        account = self.account()
        return {
            f: getattr(account, f)
            for f in (
                "name",
                "billing_cycle",
                "payment_method",
                "is_key_account",
                "account_manager",
                "credit_rating",
                "status",
            )
        }

    def perform(self, data: dict[str, Any]) -> Account:
        account = self.account()
        changes = {k: v for k, v in data.items() if getattr(account, k) != v}
        return actions.do_update_account(self.request.user, account, **changes) if changes else account


class ServicePointDetailView(ScopedDetailView):
    """用电地址 — attributes, the history of every dated value, and the meters installed there."""

    model = ServicePoint
    permission = "customer.view"
    template_name = "customers/servicepoint_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        point = context["object"]
        context["periods"] = [
            (_("Tariff"), point.tariff_periods.all(), "tariff_code", "customers:servicepoint-tariff"),
            (
                _("Contracted capacity (kVA)"),
                point.capacity_periods.all(),
                "capacity_kva",
                "customers:servicepoint-capacity",
            ),
            (
                _("Contracted demand (kW)"),
                point.demand_periods.all(),
                "contracted_demand_kw",
                "customers:servicepoint-demand",
            ),
            (
                _("Customer class"),
                point.class_periods.all(),
                "customer_class",
                "customers:servicepoint-class",
            ),
        ]
        context["can_manage"] = has_perm(self.request.user, "customer.manage")
        context["can_change_terms"] = has_perm(self.request.user, "servicepoint.change_terms")
        context["installations"] = (
            point.installations.select_related("meter").prefetch_related("reads")
            if has_perm(self.request.user, "meter.view")
            else None
        )
        return context


class ServicePointCreateView(ActionFormView):
    permission = "customer.manage"
    form_class = ServicePointForm
    title = _("New service point")

    def perform(self, data: dict[str, Any]) -> ServicePoint:
        account = _in_scope(self.request, Account, self.kwargs["pk"], write=True)
        data["expected_monthly_kwh"] = data.get("expected_monthly_kwh") or 0
        return actions.do_create_service_point(self.request.user, account=account, **data)


class _PointChangeView(ActionFormView):
    permission = "servicepoint.change_terms"
    change: Any = None

    def perform(self, data: dict[str, Any]) -> ServicePoint:
        point = _in_scope(self.request, ServicePoint, self.kwargs["pk"], write=True)
        return type(self).change(self.request.user, point, **data)


class TariffChangeView(_PointChangeView):
    form_class = TariffChangeForm
    title = _("Change tariff")
    change = staticmethod(actions.do_change_tariff)


class CapacityChangeView(_PointChangeView):
    form_class = CapacityChangeForm
    title = _("Change contracted capacity")
    change = staticmethod(actions.do_change_capacity)


class DemandChangeView(_PointChangeView):
    form_class = DemandChangeForm
    title = _("Change contracted demand")
    change = staticmethod(actions.do_change_demand)


class ClassChangeView(_PointChangeView):
    form_class = ClassChangeForm
    title = _("Change customer class")
    change = staticmethod(actions.do_change_class)


class ContractCreateView(ActionFormView):
    permission = "customer.manage"
    form_class = ContractForm
    title = _("New supply contract")

    def perform(self, data: dict[str, Any]) -> SupplyContract:
        account = _in_scope(self.request, Account, self.kwargs["pk"], write=True)
        return actions.do_create_contract(self.request.user, account=account, **data)


# ---------------------------------------------------------------------------------------------- search
class SearchView(StaffMixin, TemplateView):
    """快速查询 — type a 户号, name, phone, address or meter number; results update as you type (htmx)."""

    permission = "customer.view"
    template_name = "customers/search.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        query = request.GET.get("q", "").strip()
        context = {
            "q": query,
            "hits": search_accounts(request.user, query) if query else [],
            "title": _("Customer search"),
        }
        if request.headers.get("HX-Request"):
            return render(request, "customers/search_results.html", context)
        return render(request, self.template_name, context)


# ---------------------------------------------------------------------------------------------- import
class ImportView(StaffMixin, View):
    """批量导入 — download a template, upload a sheet; errors come back as a list and an Excel sheet."""

    # customers need customer.manage, meter stock meter.manage, readings reading.enter (checked by the import)
    permission = ("customer.manage", "meter.manage", "reading.enter")
    template_name = "customers/import.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ImportForm(), "title": _("Import from Excel")})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportForm(request.POST, request.FILES)
        context: dict[str, Any] = {"form": form, "title": _("Import from Excel")}
        if not form.is_valid():
            return render(request, self.template_name, context, status=400)
        try:
            result = run_import(request.user, form.cleaned_data["kind"], form.cleaned_data["file"])
        except GridcareError as exc:
            form.add_error(None, exc.message)
            return render(request, self.template_name, context, status=400)
        if result.errors:
            context.update(
                errors=result.errors[:500], error_count=len(result.errors), token=result.error_token
            )
            return render(request, self.template_name, context, status=400)
        messages.success(
            request,
            _("Imported: %(counts)s") % {"counts": ", ".join(f"{k} {v}" for k, v in result.created.items())},
        )
        context["created"] = result.created
        return render(request, self.template_name, context)


class ImportTemplateView(StaffMixin, View):
    permission = "customer.view"

    def get(self, request: HttpRequest, kind: str) -> HttpResponse:
        from gridcare.customers.importing import template_response

        try:
            return template_response(kind)
        except GridcareError:
            raise Http404 from None


class ImportErrorsView(StaffMixin, View):
    """The error sheet of the person's own failed import."""

    permission = ("customer.manage", "meter.manage", "reading.enter")  # and the token names its owner

    def get(self, request: HttpRequest, token: str) -> FileResponse:
        path = error_sheet_path(request.user, token)
        if path is None:
            raise Http404
        return FileResponse(
            path.open("rb"), as_attachment=True, filename="import-errors.xlsx", content_type=XLSX_CONTENT_TYPE
        )
