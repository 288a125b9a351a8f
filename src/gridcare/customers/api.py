"""REST API of the customers app: customers, contacts, accounts (户号), service points with their dated
changes, supply contracts, the fast search and the Excel import. Viewsets validate format; actions write."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response

from gridcare.api.base import ActionViewSet, HasViewPermission, IdempotentWritesMixin, ScopedViewSetMixin
from gridcare.api.fields import MAX_DAYS_AHEAD, ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from gridcare.api.parsers import CheckedFormParser, CheckedMultiPartParser
from gridcare.api.types import bound
from gridcare.core.errors import InvalidInput
from gridcare.core.requests import StaffRequest
from gridcare.customers import actions
from gridcare.customers.filters import AccountFilter, ContractFilter, CustomerFilter, ServicePointFilter
from gridcare.customers.masking import mask_id_number, mask_mobile
from gridcare.customers.models import (
    Account,
    CapacityPeriod,
    ClassPeriod,
    Contact,
    Customer,
    DemandPeriod,
    ServicePoint,
    SupplyContract,
    TariffAssignment,
)
from gridcare.customers.selectors import expiring_contracts, search_accounts
from gridcare.org.models import OrgUnit
from gridcare.web.excel import XLSX_CONTENT_TYPE


class ContactInlineSerializer(ScopedModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "mobile", "role", "is_primary"]

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["mobile"] = mask_mobile(instance.mobile)
        return data


class ContactSerializer(ContactInlineSerializer):
    class Meta(ContactInlineSerializer.Meta):
        fields = ["id", "customer", "name", "mobile", "role", "is_primary"]


class CustomerSerializer(ScopedModelSerializer):
    """ID number and mobiles are always masked here; ``POST …/unmask/`` shows them (audited)."""

    number = serializers.CharField(max_length=20, required=False)
    contacts = ContactInlineSerializer(many=True, required=False)

    class Meta:
        model = Customer
        fields = [
            "id",
            "number",
            "kind",
            "name",
            "id_type",
            "id_number",
            "org_unit",
            "address",
            "created_at",
            "contacts",
        ]
        read_only_fields = ["created_at"]
        # one customer per ID document is the action's rule (409 naming the existing customer, in scope only)
        validators: list[Any] = []

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["id_number"] = mask_id_number(instance.id_number)
        return data


class UnmaskSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class CustomerViewSet(ActionViewSet):
    """客户 — customers. ``POST …/unmask/`` returns the clear ID and mobile numbers and writes an audit row."""

    queryset = Customer.objects.select_related("org_unit").prefetch_related("contacts")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    view_permission = "customer.view"
    action_permissions = {
        "create": "customer.manage",
        "partial_update": "customer.manage",
        "unmask": "customer.unmask",
    }

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        data["contacts"] = [dict(c) for c in data.get("contacts", [])]
        serializer.instance = actions.do_create_customer(self.request.user, **data)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        if "contacts" in data or "number" in data:
            raise InvalidInput(
                {"contacts": "联系人请用 /api/customers/contacts/ 维护。 (Use the contacts endpoint.)"}
            )
        serializer.instance = actions.do_update_customer(self.request.user, bound(serializer), **data)

    @extend_schema(request=UnmaskSerializer, responses=dict)
    @route(detail=True, methods=["post"])
    def unmask(self, request: StaffRequest, pk: str | None = None) -> Response:
        """查看敏感信息 (audited)."""
        data = UnmaskSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return Response(actions.do_unmask_customer(request.user, self.get_object(), **data.validated_data))


class ContactViewSet(ActionViewSet):
    """联系人 — contacts (mobile numbers masked)."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    view_permission = "customer.view"
    action_permissions = {"create": "customer.manage"}
    filterset_fields = ["customer", "is_primary"]
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        customer = data.pop("customer")
        serializer.instance = actions.do_add_contact(self.request.user, customer, **data)


class AccountSerializer(ScopedModelSerializer):
    number = serializers.CharField(max_length=20, required=False)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    org_unit_name = serializers.CharField(source="org_unit.name", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "number",
            "customer",
            "customer_name",
            "name",
            "org_unit",
            "org_unit_name",
            "billing_cycle",
            "payment_method",
            "is_key_account",
            "account_manager",
            "credit_rating",
            "status",
            "opened_on",
        ]
        read_only_fields = ["opened_on"]


class AccountViewSet(ActionViewSet):
    """户号 — billing accounts."""

    queryset = Account.objects.select_related("customer", "org_unit")
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    view_permission = "customer.view"
    action_permissions = {
        "create": "customer.manage",
        # archive fields need customer.manage, the credit rating and the status their own codes (the action
        # asks for the codes of the fields that actually change)
        "partial_update": ("customer.manage", "account.rate_credit", "account.change_status"),
    }

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        data.pop("status", None)
        serializer.instance = actions.do_create_account(self.request.user, **data)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = dict(serializer.validated_data)
        for fixed in ("number", "customer", "org_unit"):
            if fixed in data and data[fixed] != getattr(bound(serializer), fixed):
                raise InvalidInput({fixed: "此字段不能在此修改。 (Not editable here.)"})
            data.pop(fixed, None)
        serializer.instance = actions.do_update_account(self.request.user, bound(serializer), **data)


def _period_serializer(period_model: Any) -> type[ScopedModelSerializer]:
    class PeriodSerializer(ScopedModelSerializer):
        class Meta:
            model = period_model
            fields = ["valid_from", "valid_to", *period_model.value_fields]

    PeriodSerializer.__name__ = f"{period_model.__name__}Serializer"
    return PeriodSerializer


class ServicePointSerializer(ScopedModelSerializer):
    """Tariff, capacity, demand and class are set at creation; later they change through the dated routes."""

    number = serializers.CharField(max_length=24, required=False)
    org_unit = ScopedPrimaryKeyRelatedField(queryset=OrgUnit.objects.all(), required=False)
    valid_from = serializers.DateField(write_only=True, required=False)
    capacity_kva = serializers.DecimalField(max_digits=12, decimal_places=2)
    contracted_demand_kw = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True
    )
    tariff_periods = _period_serializer(TariffAssignment)(many=True, read_only=True)
    capacity_periods = _period_serializer(CapacityPeriod)(many=True, read_only=True)
    demand_periods = _period_serializer(DemandPeriod)(many=True, read_only=True)
    class_periods = _period_serializer(ClassPeriod)(many=True, read_only=True)

    class Meta:
        model = ServicePoint
        fields = [
            "id",
            "number",
            "account",
            "address",
            "org_unit",
            "voltage_level",
            "customer_class",
            "sub_class",
            "pf_standard",
            "area_class",
            "is_important",
            "tariff_code",
            "capacity_kva",
            "contracted_demand_kw",
            "expected_monthly_kwh",
            "metering_class",
            "valid_from",
            "tariff_periods",
            "capacity_periods",
            "demand_periods",
            "class_periods",
        ]
        read_only_fields = ["metering_class"]


class TariffChangeSerializer(serializers.Serializer):
    tariff_code = serializers.CharField(max_length=40)
    valid_from = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class CapacityChangeSerializer(serializers.Serializer):
    capacity_kva = serializers.DecimalField(max_digits=12, decimal_places=2)
    valid_from = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DemandChangeSerializer(serializers.Serializer):
    contracted_demand_kw = serializers.DecimalField(max_digits=12, decimal_places=2)
    valid_from = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ClassChangeSerializer(serializers.Serializer):
    customer_class = serializers.ChoiceField(choices=ServicePoint.CustomerClass.choices)
    sub_class = serializers.CharField(max_length=40, required=False, allow_blank=True)
    valid_from = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ServicePointViewSet(ActionViewSet):
    """用电地址 — service points; dated changes: change-tariff, change-capacity, change-demand, change-class."""

    queryset = ServicePoint.objects.select_related("account", "org_unit").prefetch_related(
        "tariff_periods", "capacity_periods", "demand_periods", "class_periods"
    )
    serializer_class = ServicePointSerializer
    filterset_class = ServicePointFilter
    view_permission = "customer.view"
    action_permissions = {
        "create": "customer.manage",
        "partial_update": ("customer.manage", "servicepoint.change_terms"),  # per field, in the action
        "change_tariff": "servicepoint.change_terms",
        "change_capacity": "servicepoint.change_terms",
        "change_demand": "servicepoint.change_terms",
        "change_class": "servicepoint.change_terms",
    }

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_create_service_point(self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        data = {
            k: v for k, v in serializer.validated_data.items() if getattr(bound(serializer), k, None) != v
        }
        serializer.instance = actions.do_update_service_point(self.request.user, bound(serializer), **data)

    def _change(self, request: Request, input_class: type[serializers.Serializer], do: Any) -> Response:
        point = self.get_object()
        data = input_class(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        point = do(request.user, point, **data.validated_data)
        return Response(ServicePointSerializer(self.get_queryset().get(pk=point.pk)).data)

    @extend_schema(request=TariffChangeSerializer, responses=ServicePointSerializer)
    @route(detail=True, methods=["post"], url_path="change-tariff")
    def change_tariff(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, TariffChangeSerializer, actions.do_change_tariff)

    @extend_schema(request=CapacityChangeSerializer, responses=ServicePointSerializer)
    @route(detail=True, methods=["post"], url_path="change-capacity")
    def change_capacity(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, CapacityChangeSerializer, actions.do_change_capacity)

    @extend_schema(request=DemandChangeSerializer, responses=ServicePointSerializer)
    @route(detail=True, methods=["post"], url_path="change-demand")
    def change_demand(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, DemandChangeSerializer, actions.do_change_demand)

    @extend_schema(request=ClassChangeSerializer, responses=ServicePointSerializer)
    @route(detail=True, methods=["post"], url_path="change-class")
    def change_class(self, request: Request, pk: str | None = None) -> Response:
        return self._change(request, ClassChangeSerializer, actions.do_change_class)


class ContractSerializer(ScopedModelSerializer):
    supplier_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    customer_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    account_number = serializers.CharField(source="account.number", read_only=True)
    state = serializers.ChoiceField(choices=SupplyContract.State.choices, read_only=True)

    class Meta:
        model = SupplyContract
        fields = [
            "id",
            "number",
            "account",
            "account_number",
            "supplier_name",
            "customer_name",
            "signed_on",
            "valid_from",
            "valid_to",
            "capacity_kva",
            "contracted_demand_kw",
            "status",
            "state",
        ]
        read_only_fields = ["status"]


class TerminateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class ExpiringQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_DAYS_AHEAD,
        required=False,
        help_text="default: the configured 60 days",
        error_messages={"invalid": "天数应为非负整数。 (Days must be a whole number.)"},
    )


class ContractViewSet(ActionViewSet):
    """供用电合同 — supply contracts; ``GET …/expiring/?days=60`` lists those ending soon."""

    queryset = SupplyContract.objects.select_related("account")
    serializer_class = ContractSerializer
    filterset_class = ContractFilter
    view_permission = "customer.view"
    action_permissions = {"create": "customer.manage", "terminate": "customer.manage"}
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        serializer.instance = actions.do_create_contract(self.request.user, **serializer.validated_data)

    @extend_schema(parameters=[ExpiringQuerySerializer], responses=ContractSerializer(many=True))
    @route(detail=False, methods=["get"])
    def expiring(self, request: Request) -> Response:
        """到期合同清单."""
        query = ExpiringQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = expiring_contracts(request.user, query.validated_data.get("days"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ContractSerializer(page, many=True).data)

    @extend_schema(request=TerminateSerializer, responses=ContractSerializer)
    @route(detail=True, methods=["post"])
    def terminate(self, request: StaffRequest, pk: str | None = None) -> Response:
        contract = self.get_object()  # outside the caller's scope: 404 before anything is read from the body
        data = TerminateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        contract = actions.do_terminate_contract(request.user, contract, **data.validated_data)
        return Response(ContractSerializer(contract).data)


class SearchResultSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    number = serializers.CharField(source="account.number")
    name = serializers.CharField(source="account.name")
    customer = serializers.IntegerField(source="account.customer_id")
    customer_name = serializers.CharField(source="account.customer.name")
    station = serializers.CharField(source="account.org_unit.name")
    matched = serializers.ListField(child=serializers.CharField())


class SearchViewSet(ScopedViewSetMixin, viewsets.ViewSet):
    """快速查询 — by 户号, name, phone, address or meter number (prefix, or partial with ≥ 3 characters)."""

    view_permission = "customer.view"
    permission_classes = [HasViewPermission]

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True)], responses=SearchResultSerializer(many=True)
    )
    def list(self, request: Request) -> Response:
        hits = search_accounts(request.user, request.query_params.get("q", ""))
        return Response(SearchResultSerializer(hits, many=True).data)


class ImportViewSet(IdempotentWritesMixin, viewsets.ViewSet):
    """Excel import: ``GET …/template/?kind=customers|meters|readings``; ``POST`` a file (all rows valid, or
    nothing)."""

    permission_classes = [HasViewPermission]
    view_permission = (
        "customer.manage",
        "meter.manage",
        "reading.enter",
    )  # by ``kind``, checked by the import
    action_permissions = {"create": ("customer.manage", "meter.manage", "reading.enter")}
    parser_classes = [CheckedMultiPartParser, CheckedFormParser]

    @extend_schema(parameters=[OpenApiParameter("kind", str)], responses={(200, XLSX_CONTENT_TYPE): bytes})
    @route(detail=False, methods=["get"])
    def template(self, request: Request) -> HttpResponse:
        from gridcare.customers.importing import template_response

        return template_response(request.query_params.get("kind", "customers"))

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses=dict,
    )
    def create(self, request: Request) -> Response:
        from gridcare.customers.importing import run_import

        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput({"file": "请选择要导入的 Excel 文件。 (Choose an Excel file.)"})
        result = run_import(request.user, request.query_params.get("kind", "customers"), upload)
        if result.errors:
            return Response(
                {
                    "code": "invalid",
                    "detail": f"{len(result.errors)} 处错误，未导入任何数据。 ({len(result.errors)} errors; nothing imported.)",
                    "rows": [{"row": e.row, "column": e.column, "reason": e.reason} for e in result.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response({"created": result.created}, status=status.HTTP_201_CREATED)


ROUTES = [
    ("customers/customers", CustomerViewSet, "customer"),
    ("customers/contacts", ContactViewSet, "contact"),
    ("customers/accounts", AccountViewSet, "account"),
    ("customers/service-points", ServicePointViewSet, "servicepoint"),
    ("customers/contracts", ContractViewSet, "contract"),
    ("customers/search", SearchViewSet, "customer-search"),
    ("customers/import", ImportViewSet, "customer-import"),
]
