"""Issue #10 point 1: the 95598 hotline and the billing team read every customer of the company (their position's
``read_scope``, data in the catalogue) while their writes stay within their ``data_scope``; a station desk still
sees only its own station."""

from __future__ import annotations

from django.test import Client

from gridcare.core import access
from gridcare.customers.models import Account, Contact, Customer
from gridcare.org.models import Position
from gridcare.service.models import WorkOrder

ORDERS = "/api/service/orders/"


def test_read_scope_is_catalogue_data_not_code(org) -> None:
    """Given the loaded catalogue, then the wider read scope is a property of positions, not of users or units."""
    wide = dict(Position.objects.exclude(read_scope="").values_list("code", "read_scope"))
    assert wide == {
        "service_rep": "company",
        "billing_accountant": "company",
        "load_manager": "company",
        "headend_integration": "own",  # the head-end account submits reads company-wide but reads only its own
        "channel_integration": "own",  # a bank takes payments company-wide but reads no customer data
    }
    assert Position.objects.get(code="station_rep").read_scope == ""
    assert Position.objects.get(code="service_rep").data_scope == "subtree"


def test_hotline_finds_a_station_customer_by_every_key(api, staff, place) -> None:
    """Given a customer of 城关供电所 with a phone number and a meter, when the hotline rep (客服班) searches by
    户号, name, phone, meter number or address, then the API finds the account each time."""
    from gridcare.metering.models import Meter

    point = place("CG", name="王小明")
    account = point.account
    Contact.objects.create(customer=account.customer, name="王小明", mobile="13905710001", is_primary=True)
    meter = Meter.objects.create(
        asset_no="3300001234567",
        barcode="BC3300001234567",
        manufacturer="威胜",
        model_code="DDZY",
        accuracy_class="2.0",
        phases=1,
        rated_current="5(60)A",
        org_unit=point.org_unit,
        service_point=point,
        status="installed",
    )
    client = api("cs_rep")
    for query in (account.number, "王小明", "13905710001", meter.asset_no, point.address):
        response = client.get("/api/customers/search/", {"q": query})
        assert response.status_code == 200, query
        assert account.pk in {hit["account"] for hit in response.data}, query
    # a station desk of 河西 does not find it
    other = api("hx_rep").get("/api/customers/search/", {"q": account.number})
    assert other.status_code == 200 and other.data == []


def test_hotline_screen_search_and_customer_360(staff, place) -> None:
    """Given a customer of 城关, when the hotline rep uses the search screen and opens the customer 360 page,
    then both answer 200 and show the customer; a 河西 station rep gets 404 on the same page."""
    point = place("CG", name="李四海")
    customer = point.account.customer
    client = Client()
    client.force_login(staff("cs_rep"))
    found = client.get("/customers/search/", {"q": point.account.number})
    assert found.status_code == 200 and "李四海" in found.content.decode()
    page = client.get(f"/customers/{customer.pk}/")
    assert page.status_code == 200 and "李四海" in page.content.decode()
    stranger = Client()
    stranger.force_login(staff("hx_rep"))
    assert stranger.get(f"/customers/{customer.pk}/").status_code == 404


def test_hotline_registers_a_repair_for_a_station_service_point(api, staff, place) -> None:
    """Given a service point of 城关, when the hotline rep registers a repair for it, then 201: the order's
    responsible unit is the station and its intake unit the hotline's team."""
    point = place("CG")
    before = WorkOrder.objects.count()
    response = api("cs_rep").post(ORDERS, {"order_type": "repair", "service_point": point.pk}, format="json")
    assert response.status_code == 201, response.data
    assert WorkOrder.objects.count() == before + 1
    order = WorkOrder.objects.get(pk=response.data["id"])
    assert order.unit_id == point.org_unit_id
    assert order.intake_unit_id == staff("cs_rep").org_unit_id
    assert order.service_point_id == point.pk


def test_hotline_cannot_edit_a_station_customer(api, staff, place) -> None:
    """Given a customer of 城关, when the hotline rep (who may maintain records of his own unit) edits it through
    the API or the screen, then 404 as outside the write scope, and nothing changes."""
    customer = place("CG", name="赵六").account.customer
    response = api("cs_rep").patch(
        f"/api/customers/customers/{customer.pk}/", {"name": "改名"}, format="json"
    )
    assert response.status_code == 404
    client = Client()
    client.force_login(staff("cs_rep"))
    assert client.get(f"/customers/{customer.pk}/edit/").status_code == 404
    assert client.post(f"/customers/{customer.pk}/edit/", {"name": "改名", "address": "x"}).status_code == 404
    assert Customer.objects.get(pk=customer.pk).name == "赵六"
    # the read reaches, the write does not: the same rule in the access layer
    rep = staff("cs_rep")
    assert access.restrict(Customer.objects.filter(pk=customer.pk), rep).exists()
    assert not access.restrict(Customer.objects.filter(pk=customer.pk), rep, write=True).exists()


def test_billing_accountant_lists_every_account(api, place) -> None:
    """Given accounts at three stations, when the billing accountant (电费核算班) lists accounts, then all of them
    are there — as many as in the database."""
    points = [place("CG"), place("HX"), place("SNS")]
    response = api("billing").get("/api/customers/accounts/", {"page_size": 500})
    assert response.status_code == 200
    listed = {row["id"] for row in response.data["results"]}
    assert {p.account_id for p in points} <= listed
    assert response.data["count"] == Account.objects.count()


def test_station_rep_still_sees_only_his_station(api, place) -> None:
    """Given customers of 城关 and 河西, when 城关's station rep lists and opens them, then only 城关's are there
    and 河西's answers 404."""
    mine, theirs = place("CG"), place("HX")
    client = api("cg_rep")
    listed = {row["id"] for row in client.get("/api/customers/customers/").data["results"]}
    assert mine.account.customer_id in listed and theirs.account.customer_id not in listed
    assert client.get(f"/api/customers/customers/{theirs.account.customer_id}/").status_code == 404
    refused = client.post(ORDERS, {"order_type": "repair", "service_point": theirs.pk}, format="json")
    assert refused.status_code == 400 and "service_point" in refused.data["errors"]


def test_an_administrator_widens_a_read_scope_as_data(api, place) -> None:
    """Given the station desks' position, when an administrator sets its read scope to the whole company through
    the API, then a station rep reads 河西's customer but still may not edit it; a bad value is a 400 on the field
    and changes nothing."""
    theirs = place("HX").account.customer
    position = Position.objects.get(code="station_rep")
    bad = api("admin").patch(f"/api/org/positions/{position.pk}/", {"read_scope": "galaxy"}, format="json")
    assert bad.status_code == 400 and "read_scope" in str(bad.data)
    assert Position.objects.get(pk=position.pk).read_scope == ""
    assert api("cg_rep").get(f"/api/customers/customers/{theirs.pk}/").status_code == 404
    done = api("admin").patch(f"/api/org/positions/{position.pk}/", {"read_scope": "company"}, format="json")
    assert done.status_code == 200 and done.data["read_scope"] == "company"
    assert api("cg_rep").get(f"/api/customers/customers/{theirs.pk}/").status_code == 200
    edit = api("cg_rep").patch(f"/api/customers/customers/{theirs.pk}/", {"name": "改名"}, format="json")
    assert edit.status_code == 404 and Customer.objects.get(pk=theirs.pk).name != "改名"
