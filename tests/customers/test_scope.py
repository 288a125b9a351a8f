"""Data scope: a station's staff see only their station's customers; a key account manager (own scope) sees
only the accounts he manages — in lists, details, search and the API (404 outside)."""

from __future__ import annotations

from gridcare.core.access import restrict
from gridcare.customers.models import Account, Contact, Customer, ServicePoint
from gridcare.customers.selectors import search_accounts


def test_station_staff_see_only_their_station(make_point, staff) -> None:
    cg = make_point("CG", name="城关客户")
    hx = make_point("HX", name="河西客户")
    cg_rep, hx_rep = staff("cg_rep"), staff("hx_rep")
    assert list(restrict(Customer.objects.all(), cg_rep)) == [cg.account.customer]
    assert list(restrict(Account.objects.all(), hx_rep)) == [hx.account]
    assert list(restrict(ServicePoint.objects.all(), hx_rep)) == [hx]
    assert [h.account for h in search_accounts(cg_rep, "城关客户")] == [cg.account]
    assert search_accounts(cg_rep, "河西客户") == []
    assert [h.account for h in search_accounts(hx_rep, "河西客户")] == [hx.account]
    assert (
        search_accounts(hx_rep, hx.account.number) != [] and search_accounts(cg_rep, hx.account.number) == []
    )


def test_key_account_manager_sees_only_his_accounts(make_point, staff) -> None:
    manager = staff("key_account")
    mine = make_point(
        "CG",
        name="宏达水泥",
        kind="organisation",
        voltage="10kV",
        customer_class="large_industry",
        capacity="1000",
        manager=manager,
    )
    make_point(
        "CG", name="宏达超市", kind="organisation", voltage="380V", customer_class="commercial", capacity="50"
    )
    assert list(restrict(Account.objects.all(), manager)) == [mine.account]
    assert list(restrict(Customer.objects.all(), manager)) == [mine.account.customer]
    assert list(restrict(Contact.objects.all(), manager)) == list(mine.account.customer.contacts.all())
    assert [h.account for h in search_accounts(manager, "宏达")] == [mine.account]


def test_customer_with_two_managed_accounts_is_listed_once(make_point, staff, system, unit) -> None:
    from gridcare.customers import actions

    manager = staff("key_account")
    point = make_point(
        "CG",
        kind="organisation",
        voltage="10kV",
        customer_class="large_industry",
        capacity="1000",
        manager=manager,
    )
    actions.do_create_account(
        system,
        customer=point.account.customer,
        org_unit=unit("CG"),
        number="9988776655",
        is_key_account=True,
        account_manager=manager,
    )
    assert restrict(Customer.objects.all(), manager).count() == 1


def test_api_and_screens_answer_404_outside_scope(make_point, api, client, staff) -> None:
    hx = make_point("HX")
    customer = hx.account.customer
    client_cg = api("cg_rep")
    assert client_cg.get(f"/api/customers/customers/{customer.pk}/").status_code == 404
    assert client_cg.get(f"/api/customers/accounts/{hx.account.pk}/").status_code == 404
    assert client_cg.get("/api/customers/customers/").data["count"] == 0
    assert api("hx_rep").get(f"/api/customers/customers/{customer.pk}/").status_code == 200
    client.force_login(staff("cg_rep"))
    assert client.get(f"/customers/{customer.pk}/").status_code == 404
    assert client.get(f"/customers/service-points/{hx.pk}/").status_code == 404
