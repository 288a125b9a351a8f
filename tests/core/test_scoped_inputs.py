"""Issue #9, defects 3–6: every id in every input resolves through the caller's data scope, every choice list is
restricted, reads need a view permission, and financial terms need their own permissions.

The mechanism tests enumerate every FilterSet, form and serializer of gridcare, so a new app's filter, form or
serializer is covered without being named here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import django_filters
import pytest
from django import forms
from django.test import Client, RequestFactory
from rest_framework import serializers

import gridcare
from gridcare.api.fields import ScopedPrimaryKeyRelatedField, ScopedSlugRelatedField
from gridcare.core.access import restrict, row_in_scope
from gridcare.core.models import AuditEntry
from gridcare.core.scoped import ScopedFilterSet, ScopedForm
from gridcare.customers.models import Account, Contact, ServicePoint
from gridcare.org.models import Position, User
from gridcare.service.models import WorkOrder
from tests.service.conftest import place, service_defaults  # noqa: F401  (fixtures)

ORDERS = "/api/service/orders/"


def gridcare_modules(suffix: str) -> Iterator[Any]:
    """Every ``gridcare.<app>.<suffix>`` module (``filters``, ``forms``, ``api``)."""
    for info in pkgutil.iter_modules(gridcare.__path__):
        try:
            yield importlib.import_module(f"gridcare.{info.name}.{suffix}")
        except ModuleNotFoundError:
            continue


def classes(suffix: str, base: type) -> list[type]:
    found = {
        obj
        for module in gridcare_modules(suffix)
        for _name, obj in inspect.getmembers(module, inspect.isclass)
        if issubclass(obj, base) and obj.__module__.startswith("gridcare.")
    }
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def counts() -> tuple[int, int]:
    return WorkOrder.objects.count(), AuditEntry.objects.count()


# ------------------------------------------------------------------------------------ defect 3: intake & ids


@pytest.mark.parametrize("kind", ["service_point", "account", "customer"])
def test_intake_outside_scope_is_refused_like_an_unknown_id(api, place, kind) -> None:  # noqa: F811
    """Given a service point of 河西 and a service rep of 城关 who gets 404 reading it,
    when the rep registers a work order for it (by point, account or customer id),
    then the answer is the same 400 as for an id that does not exist, and nothing is written."""
    point = place("HX", name="河西客户")
    ids = {"service_point": point.pk, "account": point.account_id, "customer": point.account.customer_id}
    client = api("cg_rep")
    assert client.get(f"/api/customers/service-points/{point.pk}/").status_code == 404
    before = counts()
    outside = client.post(ORDERS, {"order_type": "repair", kind: ids[kind], "address": "某地"}, format="json")
    unknown = client.post(
        ORDERS, {"order_type": "repair", kind: 99_999_999, "address": "某地"}, format="json"
    )
    assert outside.status_code == unknown.status_code == 400
    assert outside.data["errors"][kind] == unknown.data["errors"][kind]
    assert counts() == before
    assert "河西客户" not in outside.content.decode() and point.address not in outside.content.decode()
    # the station's own rep registers it as before
    inside = api("hx_rep").post(
        ORDERS, {"order_type": "repair", kind: ids[kind], "address": "某地"}, format="json"
    )
    assert inside.status_code == 201, inside.content


def test_intake_by_an_own_records_position_needs_the_account(api, staff, place) -> None:  # noqa: F811
    """A key account manager (scope: own records) registers orders only for the accounts he manages."""
    mine = place("CG", key_manager=staff("key_account"))
    other = place("CG")
    client = api("key_account")
    assert (
        client.post(ORDERS, {"order_type": "repair", "service_point": mine.pk}, format="json").status_code
        == 201
    )
    before = counts()
    refused = client.post(ORDERS, {"order_type": "repair", "service_point": other.pk}, format="json")
    assert refused.status_code == 400 and "service_point" in refused.data["errors"]
    by_customer = client.post(
        ORDERS, {"order_type": "enquiry", "customer": other.account.customer_id}, format="json"
    )
    assert by_customer.status_code == 400 and "customer" in by_customer.data["errors"]
    assert counts() == before


def test_the_intake_scope_rule_agrees_with_restrict_for_every_position(staff, place) -> None:  # noqa: F811
    """``row_in_scope`` (the intake's one-query path) and ``restrict`` (every other path) decide alike."""
    points = [place("CG"), place("HX"), place("SNS"), place("CG", key_manager=staff("key_account"))]
    for user in User.objects.filter(position__isnull=False).select_related("position", "org_unit"):
        visible = set(restrict(ServicePoint.objects.all(), user).values_list("pk", flat=True))
        writable = set(restrict(ServicePoint.objects.all(), user, write=True).values_list("pk", flat=True))
        for point in points:
            # since issue #10 the row's model decides whether the (wider) read scope applies: the intake says it
            decided = row_in_scope(
                user,
                unit_paths=[point.org_unit.path],
                owner_ids=[point.account.account_manager_id],
                model=ServicePoint,
            )
            assert decided == (point.pk in visible), (user.username, point.number)
            decided_write = row_in_scope(
                user,
                unit_paths=[point.org_unit.path],
                owner_ids=[point.account.account_manager_id],
                model=ServicePoint,
                write=True,
            )
            assert decided_write == (point.pk in writable), (user.username, point.number)


def test_related_ids_in_api_bodies_resolve_within_scope(api, place) -> None:  # noqa: F811
    """Given a customer of 河西, when 城关's rep adds a contact to it or opens an account for it, then the
    answer equals the one for a customer that does not exist (400 on the field) and nothing is written."""
    customer_id, station = place("HX").account.customer_id, place("CG").org_unit_id
    client = api("cg_rep")
    before = (Contact.objects.count(), Account.objects.count(), AuditEntry.objects.count())
    for url, body in [
        ("/api/customers/contacts/", {"name": "张", "mobile": "13800000000"}),
        ("/api/customers/accounts/", {"org_unit": station}),
    ]:
        outside = client.post(url, {**body, "customer": customer_id}, format="json")
        unknown = client.post(url, {**body, "customer": 99_999_999}, format="json")
        assert outside.status_code == unknown.status_code == 400, outside.content
        assert str(customer_id) in outside.data["errors"]["customer"][0]
        assert outside.data["errors"]["customer"][0].replace(str(customer_id), "?") == unknown.data["errors"][
            "customer"
        ][0].replace("99999999", "?")
    assert (Contact.objects.count(), Account.objects.count(), AuditEntry.objects.count()) == before


def test_intake_screen_lookup_outside_scope_is_not_found(staff, place) -> None:  # noqa: F811
    point = place("HX")
    client = Client()
    client.force_login(staff("cg_rep"))
    before = counts()
    response = client.post(
        "/service/orders/new/", {"order_type": "repair", "channel": "phone", "lookup": point.number}
    )
    assert response.status_code == 400 and "未找到" in response.content.decode()
    assert counts() == before


# ------------------------------------------------------------------------------- defect 4: choice lists


def test_filter_choices_list_only_what_the_user_may_see(staff, place) -> None:  # noqa: F811
    """Given customers at three stations, the 城关 rep's filter drop-downs on the service point list name only
    城关's accounts; filtering the API by another station's account is refused like an unknown id."""
    mine, other = place("CG"), place("HX")
    client = Client()
    client.force_login(staff("cg_rep"))
    page = client.get("/customers/service-points/")
    choices = page.context["filterset"].form.fields["account"].queryset
    assert mine.account in choices and other.account not in choices
    assert other.account.number not in page.content.decode()
    api_client = Client()
    api_client.force_login(staff("cg_rep"))
    refused = api_client.get("/api/customers/service-points/", {"account": other.account_id})
    unknown = api_client.get("/api/customers/service-points/", {"account": 99_999_999})
    assert refused.status_code == unknown.status_code == 400


def test_every_filterset_is_scoped_and_restricts_every_model_choice(staff, place) -> None:  # noqa: F811
    """Mechanism: every FilterSet of every app derives from ScopedFilterSet, and for a station-scoped user each
    model choice filter lists exactly what ``restrict`` lets them see."""
    place("CG"), place("HX")
    user = staff("cg_rep")
    request = RequestFactory().get("/")
    request.user = user
    filtersets = classes("filters", django_filters.FilterSet)
    assert filtersets, "no FilterSet found"
    checked = 0
    for filterset_class in filtersets:
        if filterset_class._meta.model is None:  # a base class
            continue
        assert issubclass(filterset_class, ScopedFilterSet), filterset_class
        filterset = filterset_class(
            queryset=filterset_class._meta.model._default_manager.none(), request=request
        )
        for name, filter_ in filterset.filters.items():
            if isinstance(
                filter_, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter
            ):
                queryset = filterset.form.fields[name].queryset
                expected = restrict(queryset.model._default_manager.all(), user)
                assert set(queryset) <= set(expected), (filterset_class, name)
                checked += 1
    assert checked >= 10


def test_every_form_with_model_choices_is_scoped(staff, place) -> None:  # noqa: F811
    """Mechanism: every form of every app that offers model choices is a ScopedForm; for a station-scoped user
    each choice list (except declared handover targets) holds only what ``restrict`` lets them see, and a form
    built without a user offers nothing."""
    place("CG"), place("HX")
    user = staff("cg_rep")
    checked = 0
    for form_class in classes("forms", forms.Form):
        base = form_class.base_fields
        choice_fields = [n for n, f in base.items() if isinstance(f, forms.ModelChoiceField)]
        if not choice_fields:
            continue
        assert issubclass(form_class, ScopedForm), form_class
        scoped = form_class(user=user)
        blind = form_class()
        for name in choice_fields:
            if name in form_class.routing_fields:
                assert form_class.routing_fields[name].strip(), (form_class, name)
                continue
            queryset = scoped.fields[name].queryset
            assert set(queryset) <= set(restrict(queryset.model._default_manager.all(), user)), (
                form_class,
                name,
            )
            assert not blind.fields[name].queryset.exists(), (form_class, name)
            checked += 1
    assert checked >= 8


def test_every_serializer_related_input_is_scoped() -> None:
    """Mechanism: every writable related field of every API serializer resolves through the caller's scope."""
    checked = 0
    for serializer_class in classes("api", serializers.Serializer):
        try:
            fields = serializer_class().fields
        except Exception:  # noqa: BLE001 - a serializer needing constructor arguments has no declared inputs here
            continue
        for name, field in fields.items():
            child = getattr(field, "child_relation", field)
            if isinstance(child, serializers.RelatedField) and not field.read_only:
                assert isinstance(child, ScopedPrimaryKeyRelatedField | ScopedSlugRelatedField), (
                    serializer_class,
                    name,
                )
                checked += 1
    assert checked >= 8


# ------------------------------------------------------------------------- defect 5: reads need a permission


def test_system_administrator_reads_no_work_orders(api, staff, place) -> None:  # noqa: F811
    """Given orders on file, the system administrator (no customer permissions) is refused the list and the
    detail (403), and sees no desk screen."""
    from gridcare.service import actions

    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    admin = api("admin")
    assert admin.get(ORDERS).status_code == 403
    assert admin.get(f"{ORDERS}{order.pk}/").status_code == 403
    assert admin.get("/api/service/compensations/").status_code == 403
    assert admin.get("/api/service/notices/").status_code == 403
    screens = Client()
    screens.force_login(staff("admin"))
    assert screens.get("/service/orders/").status_code == 403
    assert screens.get(f"/service/orders/{order.pk}/").status_code == 403


def test_call_back_numbers_are_masked_without_the_unmask_permission(api, staff, place) -> None:  # noqa: F811
    from gridcare.service import actions

    order = actions.do_create_order(
        staff("cg_rep"), order_type="repair", service_point=place("CG").pk, contact_phone="13912345678"
    )
    assert api("cg_rep").get(f"{ORDERS}{order.pk}/").data["contact_phone"] == "139****5678"
    assert api("manager").get(f"{ORDERS}{order.pk}/").data["contact_phone"] == "13912345678"
    screen = Client()
    screen.force_login(staff("cg_rep"))
    page = screen.get(f"/service/orders/{order.pk}/").content.decode()
    assert "139****5678" in page and "13912345678" not in page


# --------------------------------------------------------------------------- defect 6: financial terms


def test_service_rep_keeps_archive_work_but_no_financial_changes(api, place) -> None:  # noqa: F811
    """Given a 城关 account and service point, the 城关 service rep may rename the account but not change its
    credit rating or status, nor the point's tariff, capacity, demand, class, voltage or power-factor standard:
    403, and nothing changes."""
    point = place("CG")
    account = point.account
    rep = api("cg_rep")
    before = (account.credit_rating, account.status, AuditEntry.objects.count())
    for body in ({"credit_rating": "C"}, {"status": "closed"}):
        refused = rep.patch(f"/api/customers/accounts/{account.pk}/", body, format="json")
        assert refused.status_code == 403, refused.content
    for route, body in [
        ("change-tariff", {"tariff_code": "X", "valid_from": "2026-03-01"}),
        ("change-capacity", {"capacity_kva": "9", "valid_from": "2026-03-01"}),
        ("change-demand", {"contracted_demand_kw": "9", "valid_from": "2026-03-01"}),
        ("change-class", {"customer_class": "commercial", "valid_from": "2026-03-01"}),
    ]:
        refused = rep.post(f"/api/customers/service-points/{point.pk}/{route}/", body, format="json")
        assert refused.status_code == 403 and "servicepoint.change_terms" in refused.data["detail"]
    refused = rep.patch(f"/api/customers/service-points/{point.pk}/", {"pf_standard": "0.90"}, format="json")
    assert refused.status_code == 403
    account.refresh_from_db()
    assert (account.credit_rating, account.status, AuditEntry.objects.count()) == before
    renamed = rep.patch(f"/api/customers/accounts/{account.pk}/", {"name": "新户名"}, format="json")
    assert renamed.status_code == 200


def test_credit_and_status_belong_to_their_positions(api, staff, place) -> None:  # noqa: F811
    """The marketing manager rates credit and changes status (no archive permission needed); the key account
    manager rates the accounts he manages."""
    point = place("CG", key_manager=staff("key_account"))
    account = point.account
    manager = api("manager")
    assert (
        manager.patch(
            f"/api/customers/accounts/{account.pk}/", {"credit_rating": "B"}, format="json"
        ).status_code
        == 200
    )
    assert manager.patch(
        f"/api/customers/accounts/{account.pk}/", {"status": "suspended"}, format="json"
    ).status_code in (200, 400)
    assert (
        manager.patch(f"/api/customers/accounts/{account.pk}/", {"name": "x"}, format="json").status_code
        == 403
    )
    rated = api("key_account").patch(
        f"/api/customers/accounts/{account.pk}/", {"credit_rating": "C"}, format="json"
    )
    assert rated.status_code == 200, rated.content
    account.refresh_from_db()
    assert account.credit_rating == "C"


def test_catalogue_gives_the_split_codes_to_the_right_positions(org) -> None:
    def holders(code: str) -> set[str]:
        return set(Position.objects.filter(permissions__code=code).values_list("code", flat=True))

    assert "service_rep" not in holders("servicepoint.change_terms") | holders(
        "account.rate_credit"
    ) | holders("account.change_status")
    assert {"billing_accountant", "metering_engineer", "key_account_manager"} <= holders(
        "servicepoint.change_terms"
    )
    assert "key_account_manager" in holders("account.rate_credit")
    assert "system_admin" not in holders("workorder.view")
    assert {"service_rep", "repair_technician", "service_supervisor"} <= holders("workorder.view")


def test_handover_targets_must_exist(api, staff, place) -> None:  # noqa: F811
    """Routing ids (dispatch/reassign/escalate targets) name the organisation's active units and people; an
    unknown one is a 400 on the field, never a server error, and nothing is written."""
    from gridcare.service import actions

    order = actions.do_create_order(staff("cg_rep"), order_type="repair", service_point=place("CG").pk)
    head = api("cg_head")
    before = counts()
    escalated = head.post(f"{ORDERS}{order.pk}/escalate/", {"reason": "急", "to": 99_999_999}, format="json")
    assert escalated.status_code == 400 and "to" in escalated.data["errors"]
    reassigned = head.post(
        f"{ORDERS}{order.pk}/reassign/", {"reason": "急", "assignee": 99_999_999}, format="json"
    )
    assert reassigned.status_code == 400 and "assignee" in reassigned.data["errors"]
    assert counts() == before
    order.refresh_from_db()
    assert order.escalation_level == 0
