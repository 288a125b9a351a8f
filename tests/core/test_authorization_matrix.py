"""The authorization matrix, from data (issue #9, "Mechanisms").

Every API route (from the DRF router, extra ``@action`` routes included) and every UI view (from the URL
resolver) must declare the permission it needs; a route without one fails :func:`test_every_api_route_declares`
or :func:`test_every_ui_view_declares`. Then, for every position of the catalogue (a demo holder of each), every
route is called:

- not allowed → 403, and nothing is written;
- allowed → a 2xx, or a 4xx answer that explains itself (field errors, 404 outside scope, 405, 409) — never a
  500, and never the route's own permission refusal;
- an object outside the caller's data scope → 404, exactly like an id that does not exist.

The world is built once (one database, one test per kind of check); writes are rolled back one by one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from gridcare.api.permissions import PUBLIC, declared_permission, is_declared
from gridcare.api.urls import router
from gridcare.core.access import has_perm, restrict
from gridcare.core.models import AuditEntry, CalendarOverride
from gridcare.org import demo as org_demo
from gridcare.org.models import PermissionCode, Position, User
from tests.customers.conftest import make_meter, system, unit  # noqa: F401  (fixtures)
from tests.service.conftest import place, service_defaults  # noqa: F401  (fixtures)

#: UI views any signed-in user (or anyone) may open, with the reason. Everything else declares ``permission``.
UI_PUBLIC = {
    "login": "sign-in page",
    "logout": "sign-out",
    "set_language": "language switch",
    "workbench": "each person's own home page (their position's duties, KPIs and own latest actions)",
    "calendar": "the business calendar is every signed-in user's reference (editing needs calendar.manage)",
    "favicon": "the site icon browsers fetch on their own, before signing in; a redirect to a static file, no data",
}
#: API routes outside the router, public with the reason.
API_PUBLIC = {
    "api-token": "obtaining a token is signing in",
    "api-schema": "the OpenAPI schema describes the API, no data",
    "api-docs": "documentation of the schema",
    "api-redoc": "documentation of the schema",
}


@dataclass(frozen=True)
class ApiRoute:
    basename: str
    viewset: Any
    method: str
    action: str
    detail: bool
    url_name: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.url_name} ({self.viewset.__name__}.{self.action})"


def api_routes() -> Iterator[ApiRoute]:
    for _prefix, viewset, basename in router.registry:
        allowed = {m.upper() for m in viewset.http_method_names}
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if method.upper() not in allowed or not hasattr(viewset, action):
                    continue
                yield ApiRoute(
                    basename,
                    viewset,
                    method.upper(),
                    action,
                    route.detail,
                    route.name.format(basename=basename),
                )


def declared_codes(value: Any) -> tuple[str, ...]:
    if value == PUBLIC:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def ui_views() -> Iterator[tuple[str, str, Any]]:
    def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/") or route.startswith("static/"):
            continue
        yield route, pattern.name or "", pattern


def holders() -> dict[str, User]:
    """One demo holder of each position of the catalogue."""
    by_position: dict[str, str] = {}
    for username, _name, position, _unit, _heads in org_demo.STAFF:
        by_position.setdefault(position, username)
    users = User.objects.select_related("position", "org_unit").in_bulk(
        list(by_position.values()), field_name="username"
    )
    positions = set(Position.objects.values_list("code", flat=True))
    assert positions <= set(by_position), positions - set(by_position)
    return {code: users[username] for code, username in by_position.items() if code in positions}


# --------------------------------------------------------------------------------------------- declarations


def test_every_api_route_declares_a_permission_from_the_catalogue(org) -> None:
    catalogue = set(PermissionCode.objects.values_list("code", flat=True))
    missing, unknown = [], []
    routes = list(api_routes())
    for route in routes:
        value = declared_permission(route.viewset, route.action, route.method)
        if not is_declared(value):
            missing.append(route.label)
            continue
        if value == PUBLIC:
            reasons = getattr(route.viewset, "public_reasons", {})
            key = route.action if route.action in getattr(route.viewset, "action_permissions", {}) else "view"
            if not str(reasons.get(key, "")).strip():
                missing.append(f"{route.label}: public without a reason")
        unknown += [f"{route.label}: {code}" for code in declared_codes(value) if code not in catalogue]
    assert not missing, "routes without a declared permission:\n" + "\n".join(missing)
    assert not unknown, "permission codes not in the catalogue:\n" + "\n".join(unknown)
    assert len(routes) >= 80
    names = {p.name for _r, _n, p in ui_views()} | {name for name in API_PUBLIC if reverse(name)}
    assert set(API_PUBLIC) <= names


def test_every_ui_view_declares_a_permission(org) -> None:
    catalogue = set(PermissionCode.objects.values_list("code", flat=True))
    missing = []
    for route, name, pattern in ui_views():
        view_class = getattr(pattern.callback, "view_class", None)
        permission = getattr(view_class, "permission", None) if view_class else None
        if permission is None:
            if name not in UI_PUBLIC:
                missing.append(f"{route} ({name})")
            continue
        codes = (permission,) if isinstance(permission, str) else tuple(permission)
        missing += [f"{route}: unknown code {code}" for code in codes if code not in catalogue]
    assert not missing, "UI views without a declared permission:\n" + "\n".join(missing)


def test_a_new_route_without_a_declaration_is_caught() -> None:
    """The declaration check itself: a viewset write with no entry, or a read without ``view_permission``."""
    from gridcare.api.base import ActionViewSet

    class Careless(ActionViewSet):
        pass

    assert not is_declared(declared_permission(Careless, "create", "POST"))
    assert not is_declared(declared_permission(Careless, "list", "GET"))


# ------------------------------------------------------------------------------------------------- the world


@pytest.fixture
def world(staff, place, make_meter, system, settings, tmp_path):  # noqa: F811
    """Objects of every routed model: the 城关 ones are inside 城关's scope, 河西's are outside it."""
    from gridcare.customers.models import Contact, SupplyContract
    from gridcare.metering.actions import do_install_meter
    from gridcare.org.actions import do_update_position
    from gridcare.readings import actions as readings
    from gridcare.service import actions as service
    from gridcare.service.models import StockItem
    from gridcare.tariffs.models import Tariff

    cg = place("CG", key_manager=None)
    place("HX")
    Contact.objects.create(customer=cg.account.customer, name="联系人", mobile="13800000000")
    installation = do_install_meter(
        system, make_meter(), cg, installed_on=dt.date(2026, 2, 1), initial_reads={"active_total": 0}
    )
    readings.do_create_route(
        system,
        number="CG-M1",
        name="城关抄表段",
        org_unit=cg.org_unit,
        reader=staff("cg_reader"),
        reading_day=15,
        service_points=[cg.pk],
    )
    readings.do_generate_plan(system, period="2026-11")
    asset_no = installation.meter.asset_no
    for day, value in (
        ("2026-10-15", "100"),
        ("2026-11-15", "50"),
    ):  # the second runs backwards: an exception
        readings.capture_reads(
            system,
            [
                {
                    "meter": asset_no,
                    "register": "active_total",
                    "read_at": f"{day}T10:00:00+08:00",
                    "value": value,
                }
            ],
            source="headend",
        )
    readings.do_ingest_intervals(  # a meter-day of 15-minute data (two quarter-hours: a day with gaps)
        system,
        pl.DataFrame(
            {"meter": [asset_no] * 2, "ts": ["2026-11-15 00:00", "2026-11-15 00:15"], "kwh": ["1", "1"]}
        ),
        source="api",
    )
    order = service.do_create_order(
        staff("cg_rep"),
        order_type="complaint",
        sub_type="service",
        service_point=cg.pk,
        contact_phone="13900000000",
    )
    service.do_propose_compensation(staff("cg_rep"), order, amount="10.00", reason="超时")
    SupplyContract.objects.create(
        number="HT-CG-1",
        account=cg.account,
        supplier_name="示范县供电公司",
        customer_name=cg.account.name,
        signed_on=dt.date(2026, 1, 1),
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2027, 1, 1),
        capacity_kva=Decimal("10"),
    )
    StockItem.objects.create(
        code="BJ-1", name="熔断器", kind="part", quantity=5, org_unit=staff("repair").org_unit
    )
    Tariff.objects.create(code="MATRIX-T", name="测试电价")
    CalendarOverride.objects.create(day=dt.date(2026, 10, 10), is_working_day=True, reason="调休")
    from gridcare.billing.executors import start_run
    from gridcare.billing.models import Bill

    run = start_run(system, period="2026-11")  # the 城关 account has no tariff: listed as not billed
    bill = Bill.objects.create(
        account=cg.account,
        period="2026-10",
        period_start=dt.date(2026, 9, 15),
        period_end=dt.date(2026, 10, 15),
        run=run,
        tariff_code="MATRIX-T",
        energy_kwh=Decimal("100"),
        tier_ytd_kwh=Decimal("0"),
        charges=Decimal("53.80"),
        funds=Decimal("0"),
        total=Decimal("53.80"),
        status=Bill.Status.REVIEW,
    )
    bill.findings.create(rule="zero_bill", detail="在用户头电费为零")  # the review: a finding to accept
    from gridcare.billing.actions import do_release_bills
    from gridcare.ledger.actions import do_request_approval, do_take_payment

    released = Bill.objects.create(  # a released bill in the ledger, a payment and a reversal asked for
        account=cg.account,
        period="2026-09",
        period_start=dt.date(2026, 8, 15),
        period_end=dt.date(2026, 9, 15),
        tariff_code="MATRIX-T",
        energy_kwh=Decimal("100"),
        tier_ytd_kwh=Decimal("0"),
        charges=Decimal("53.80"),
        funds=Decimal("0"),
        total=Decimal("53.80"),
    )
    do_release_bills(system, Bill.objects.filter(pk=released.pk))
    payment = do_take_payment(system, account=cg.account, amount="60.00", method="cash")
    do_request_approval(system, kind="reversal", payment_id=payment.pk, reason="矩阵测试")
    from gridcare.ledger.models import DunningCase
    from gridcare.ledger.plans import do_set_payment_plan

    unpaid = Bill.objects.create(  # an open bill under a payment plan, and a dunning case of the account
        account=cg.account,
        period="2026-08",
        period_start=dt.date(2026, 7, 15),
        period_end=dt.date(2026, 8, 15),
        tariff_code="MATRIX-T",
        energy_kwh=Decimal("100"),
        tier_ytd_kwh=Decimal("0"),
        charges=Decimal("100.00"),
        funds=Decimal("0"),
        total=Decimal("100.00"),
    )
    do_release_bills(system, Bill.objects.filter(pk=unpaid.pk))
    do_set_payment_plan(
        system,
        account=cg.account.pk,
        reason="矩阵测试",
        instalments=[{"due_date": dt.date.today() + dt.timedelta(days=30), "amount": "50.00"}],
    )
    DunningCase.objects.create(account=cg.account)
    from gridcare.billing.actions import do_set_sales_plan
    from gridcare.org.models import OrgUnit

    for code in ("CG", "HX"):  # 售电计划 of a unit inside 城关's scope and one outside it
        do_set_sales_plan(system, OrgUnit.objects.get(code=code), 2026, {11: ("1000", "550.00")})
    from gridcare.ledger.models import Channel, ChannelFile

    bank, _ = Channel.objects.get_or_create(  # a reconciled file with a payment only the bank has (批量补记)
        user=staff("bank"),
        defaults={
            "code": "MATRIX",
            "name": "矩阵测试银行",
            "layout": {"transaction": "流水号", "account": "户号", "amount": "金额"},
        },
    )
    reconciled = ChannelFile.objects.create(
        channel=bank,
        day=dt.date.today(),
        file_name="matrix.csv",
        rows=1,
        only_theirs=1,
        imported_by=staff("cg_rep"),
    )
    reconciled.differences.create(
        kind="only_theirs",
        transaction_id="MATRIX-1",
        account_number=cg.account.number,
        their_amount=Decimal("5.00"),
    )
    from gridcare.billing.models import Rebill

    rebill = Rebill.objects.create(  # a rebill case (退补) waiting for approval, on the released bill
        number="TB-MATRIX",
        kind=Rebill.Kind.CORRECTION,
        reason="矩阵测试",
        status=Rebill.Status.PENDING,
        org_unit=cg.account.org_unit,
        proposed_by=staff("billing"),
        total=Decimal("-10.00"),
        difference=Decimal("-10.00"),
    )
    rebill.items.create(
        bill=released,
        original_total=Decimal("53.80"),
        corrected_total=Decimal("43.80"),
        difference=Decimal("-10.00"),
        total=Decimal("-10.00"),
    )
    from gridcare.keyaccounts.models import Collision, KeyAccount, Prospect, Visit, VisitPlanItem

    sales = staff(
        "sales"
    )  # a prospect (客户信息保密: its owner and the managers above see it), a key account
    prospect = Prospect.objects.create(
        number="BA-MATRIX",
        name="矩阵测试有限公司",
        normalised_name="矩阵测试",
        industry="other",
        region=cg.org_unit,
        expected_capacity_kva=Decimal("1"),
        expected_annual_kwh=Decimal("1"),
        owner=sales,
        unit=sales.org_unit,
    )
    KeyAccount.objects.create(account=cg.account, grade="general")
    Visit.objects.create(
        account=cg.account,
        manager=staff("key_account"),
        visited_on=dt.date(2026, 6, 1),
        people_met="厂长",
        topics="用电安全",
    )
    VisitPlanItem.objects.create(
        year=2026, manager=staff("key_account"), account=cg.account, planned_on=dt.date(2026, 7, 1)
    )
    Collision.objects.create(
        claimant=staff("key_account"),
        unit=staff("key_account").org_unit,
        name="矩阵测试",
        reason="name",
        prospect=prospect,
    )
    from gridcare.keyaccounts.models import (
        CreditAdjustment,
        CreditRuleSet,
        CreditScore,
        SalesBudget,
        SalesExpense,
    )

    rule_set = CreditRuleSet.objects.create(
        version=1,
        rules={
            "rules": [{"code": "v", "feature": "violations", "per_unit": 10}],
            "grades": [["A", 90], ["D", 0]],
        },
        created_by=staff("manager"),
    )  # a credit score of the 城关 account and an adjustment waiting; a budget line of the salesperson
    score = CreditScore.objects.create(
        account=cg.account,
        month="2026-10",
        score=100,
        grade="A",
        features=[0.0],
        deductions=[0],
        rule_set=rule_set,
    )
    CreditAdjustment.objects.create(
        score=score,
        account=cg.account,
        score_before=100,
        score_after=70,
        grade_after="D",
        reason="矩阵",
        requested_by=staff("key_account"),
    )
    budget = SalesBudget.objects.create(
        year=2026, region=cg.org_unit, owner=sales, amount=Decimal("1000"), created_by=staff("market_manager")
    )
    SalesExpense.objects.create(
        budget=budget,
        day=dt.date(2026, 6, 1),
        category="expense_visits",
        amount=Decimal("2000"),
        description="矩阵",
        status="pending",
        overrun=Decimal("1000"),
        recorded_by=sales,
    )
    from gridcare.market import actions as market

    settings.MEDIA_ROOT = tmp_path / "media"  # a research report with a document (stored), a survey, a unit
    market.do_write_report(
        sales,
        title="矩阵测试调研",
        summary="摘要",
        written_on=dt.date(2026, 11, 1),
        files=[("m.pdf", b"%PDF-1.4")],
    )
    survey = market.do_create_survey(
        staff("market_manager"),
        title="矩阵测试调查",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        unit=cg.org_unit,
        interview_unit=cg.org_unit,
        questions=[{"kind": "rating", "text": "满意度"}],
        sample_size=5,
    )
    market.do_draw_sample(staff("market_manager"), survey)
    market.do_register_contractor(
        system, name="矩阵测试施工单位", kind="construction", credit_code="91330100MA2B3C4D5N"
    )
    from gridcare.ledger.models import PrepaidAgreement, PrepaidEstimate, PrepaidEvent

    PrepaidAgreement.objects.create(  # a prepaid account, its estimate and a disconnection awaiting approval
        account=cg.account, enrolled_on=dt.date(2026, 6, 1), enrolled_by=system
    )
    PrepaidEstimate.objects.create(
        account=cg.account,
        day=dt.date(2026, 6, 2),
        since=dt.date(2026, 6, 1),
        credit=Decimal("10.00"),
        consumption_kwh=Decimal("25"),
        price=Decimal("0.6"),
        consumed=Decimal("15.00"),
        remaining=Decimal("-5.00"),
        daily_kwh=Decimal("25"),
        status="zero",
        source="interval",
    )
    PrepaidEvent.objects.create(
        account=cg.account,
        day=dt.date(2026, 6, 2),
        kind="disconnect",
        status="awaiting",
        remaining=Decimal("-5.00"),
        created_by=system,
    )
    admin = staff("admin")
    do_update_position(admin, admin.position, data_scope="subtree")  # an administrator position: four-eyes
    return cg


def target_object(model: Any, insider: User) -> Any:
    """An object of ``model`` inside the 城关 rep's scope if there is one (so 河西 is outside), else any."""
    queryset = model._default_manager.order_by("pk")
    public = getattr(model, "scope_public", False)
    return (None if public else restrict(queryset, insider).first()) or queryset.first()


def in_scope(model: Any, obj: Any, user: User) -> bool:
    return restrict(model._default_manager.filter(pk=obj.pk), user).exists()


def explained(response: Any) -> bool:
    """A 4xx that says what is wrong (field errors or a detail)."""
    data = getattr(response, "data", None)
    if isinstance(data, list):  # a list of messages (a validation error not tied to a field)
        return bool(data)
    return isinstance(data, dict) and bool(data.get("errors") or data.get("detail") or data.get("code"))


def call(client: APIClient, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    with transaction.atomic():  # every write is rolled back: the next position finds the same world
        response = getattr(client, method.lower())(url, {}, format="json")
        transaction.set_rollback(True)
    return response


def test_api_matrix_every_route_for_every_position(world, staff) -> None:
    """routes × positions: not allowed → 403 and nothing written; allowed → 2xx or an explained 4xx, never a
    500 nor the route's own refusal; outside scope → 404."""
    people = holders()
    insider = staff("cg_rep")
    clients = {}
    for code, user in people.items():
        client = APIClient()
        client.force_authenticate(user)
        clients[code] = client
    failures: list[str] = []
    cells = outside_checked = 0
    routes = list(api_routes())
    for route in routes:
        declared = declared_permission(route.viewset, route.action, route.method)
        codes = declared_codes(declared)
        model = route.viewset.queryset.model if getattr(route.viewset, "queryset", None) is not None else None
        obj = target_object(model, insider) if route.detail and model is not None else None
        if route.detail and obj is None:
            failures.append(f"{route.label}: no object to call it on")
            continue
        url = reverse(route.url_name, args=[obj.pk] if route.detail else [])
        for position, user in people.items():
            allowed = not codes or any(has_perm(user, c) for c in codes)
            before = AuditEntry.objects.count()
            response = call(clients[position], route.method, url)
            cells += 1
            status = response.status_code
            where = f"{route.label} as {position}: {status}"
            if status >= 500:
                failures.append(f"{where} (server error)")
            elif not allowed:
                if status != 403:
                    failures.append(f"{where} (expected 403)")
                if AuditEntry.objects.count() != before:
                    failures.append(f"{where} (wrote although refused)")
            elif route.detail and not in_scope(model, obj, user):
                outside_checked += 1
                if status != 404:
                    failures.append(f"{where} (outside scope: expected 404)")
            elif status == 403:
                refusal = str(getattr(response, "data", {}).get("detail", ""))
                if len(codes) == 1 and f"'{codes[0]}'" in refusal:
                    failures.append(f"{where} (refused its own declared permission)")
            elif status >= 400 and not explained(response):
                failures.append(f"{where} (unexplained {status})")
            elif route.method == "GET" and status not in (200, 400, 404):
                failures.append(f"{where} (unexpected)")
    print(
        f"\nAPI matrix: {len(routes)} routes × {len(people)} positions = {cells} calls, {outside_checked} outside scope"
    )
    assert not failures, "\n".join(failures)


def test_ui_matrix_every_screen_for_every_position(world, staff) -> None:
    """Every list/detail screen (GET, no arguments or an object id) for every position: not allowed → 403,
    allowed → 200 (or a redirect/400 explained on the page), outside scope → 404."""
    people = holders()
    insider = staff("cg_rep")
    failures: list[str] = []
    cells = 0
    views = []
    for route, name, pattern in ui_views():
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is None or name in UI_PUBLIC or not hasattr(view_class, "get"):
            continue
        keys = re.findall(r"<(?:\w+:)?(\w+)>", route)
        model = getattr(view_class, "model", None)
        if keys and (keys != ["pk"] or model is None):
            continue  # needs more than an object id: covered by the declaration check
        obj = target_object(model, insider) if keys else None
        if keys and obj is None:
            failures.append(f"{route}: no object")
            continue
        url = "/" + re.sub(r"<(?:\w+:)?pk>", str(obj.pk) if obj else "", route)
        views.append((url, view_class, model, obj))
    for position, user in people.items():
        client = Client()
        client.force_login(user)
        for url, view_class, model, obj in views:
            permission = view_class.permission
            codes = (permission,) if isinstance(permission, str) else tuple(permission)
            allowed = any(has_perm(user, c) for c in codes)
            status = client.get(url).status_code
            cells += 1
            where = f"GET {url} as {position}: {status}"
            if status >= 500:
                failures.append(f"{where} (server error)")
            elif not allowed and status != 403:
                failures.append(f"{where} (expected 403)")
            elif allowed and obj is not None and not in_scope(model, obj, user) and status != 404:
                failures.append(f"{where} (outside scope: expected 404)")
            elif allowed and (obj is None or in_scope(model, obj, user)) and status not in (200, 302, 400):
                failures.append(f"{where} (expected 200)")
    print(f"\nUI matrix: {len(views)} screens × {len(people)} positions = {cells} calls")
    assert not failures, "\n".join(failures)
