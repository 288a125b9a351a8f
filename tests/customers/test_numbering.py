"""Customer and account numbers from database sequences; one customer per ID document (issue #9, defect 11).

Given two registrations that have each drawn a number and not yet saved (what two requests at the same time
are), then the numbers differ — ``max + 1`` gave both the same one and the second answered 409. Given a customer
with an ID document, when someone registers the same document again, then the answer is a 409 naming the
existing customer (a link on the form) and nothing is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from gridcare.core.models import AuditEntry
from gridcare.core.numbering import draw_numbers, next_number
from gridcare.customers import actions
from gridcare.customers.models import Account, Customer
from gridcare.org.models import OrgUnit
from tests.concurrency import run_together

from .conftest import VALID_ID, resident_id


def register(actor: Any, id_number: str, name: str = "王芳", station: str = "CG") -> Customer:
    return actions.do_create_customer(
        actor,
        name=name,
        kind="individual",
        id_type="resident_id",
        id_number=id_number,
        org_unit=OrgUnit.objects.get(code=station),
    )


def test_numbers_drawn_before_saving_differ(system) -> None:
    first = next_number(actions.CUSTOMER_NUMBERS, Customer, "KH", 10)
    second = next_number(actions.CUSTOMER_NUMBERS, Customer, "KH", 10)
    assert first != second
    prefix = "51"
    accounts = {next_number(actions.ACCOUNT_NUMBERS, Account, prefix, 8) for _ in range(3)}
    assert len(accounts) == 3 and all(a.startswith(prefix) and len(a) == 10 for a in accounts)


def test_numbers_step_over_numbers_given_by_hand(system) -> None:
    """Imported customers keep their numbers; the counter, meeting one, jumps past the highest once."""
    upcoming = actions.CUSTOMER_NUMBERS.next() + 1  # the value the counter gives next
    for offset, n in ((0, 901), (5, 902)):
        actions.do_create_customer(
            system,
            name="导入客户",
            kind="individual",
            id_type="resident_id",
            id_number=resident_id(n),
            org_unit=OrgUnit.objects.get(code="CG"),
            number=f"KH{upcoming + offset:010d}",
        )
    created = register(system, VALID_ID)
    assert created.number == f"KH{upcoming + 6:010d}"


def test_a_few_numbers_at_once_step_over_numbers_given_by_hand(system) -> None:
    """``draw_numbers`` (a group of channel payments' receipts): a few new numbers in one step, distinct from
    each other and from those drawn one at a time; meeting one given by hand, all jump past the highest."""
    drawn = draw_numbers(actions.CUSTOMER_NUMBERS, Customer, "KH", 10, 3)
    single = next_number(actions.CUSTOMER_NUMBERS, Customer, "KH", 10)
    assert len({*drawn, single}) == 4 and all(n.startswith("KH") and len(n) == 12 for n in drawn)
    upcoming = actions.CUSTOMER_NUMBERS.next() + 1
    actions.do_create_customer(
        system, name="导入客户", kind="individual", id_type="resident_id", id_number=resident_id(903),
        org_unit=OrgUnit.objects.get(code="CG"), number=f"KH{upcoming + 1:010d}",
    )  # fmt: skip
    after = draw_numbers(actions.CUSTOMER_NUMBERS, Customer, "KH", 10, 3)
    assert min(int(n[2:]) for n in after) > upcoming + 1
    assert not Customer.objects.filter(number__in=after).exists()
    assert draw_numbers(actions.CUSTOMER_NUMBERS, Customer, "KH", 10, 0) == []


@pytest.mark.django_db(transaction=True)
def test_registrations_at_the_same_time_all_get_numbers(org) -> None:
    from gridcare.org.selectors import system_actor

    actor = system_actor()
    ids = [resident_id(700 + i) for i in range(4)]
    results = run_together([lambda n=n: register(actor, n, name=f"客户{n[-4:]}") for n in ids])
    assert all(isinstance(r, Customer) for r in results), results  # no 409 "number conflict"
    assert len({r.number for r in results}) == 4
    assert Customer.objects.filter(id_number__in=ids).count() == 4


def test_second_registration_of_an_id_answers_409_with_the_existing_customer(api) -> None:
    client = api("cg_rep")
    payload = {
        "name": "王芳",
        "kind": "individual",
        "id_type": "resident_id",
        "id_number": VALID_ID,
        "org_unit": OrgUnit.objects.get(code="CG").pk,
        "contacts": [{"name": "王芳", "mobile": "13912345678"}],
    }
    first = client.post("/api/customers/customers/", payload, format="json")
    assert first.status_code == 201, first.content
    customers, audit_rows = Customer.objects.count(), AuditEntry.objects.count()
    again = client.post(
        "/api/customers/customers/",
        {**payload, "id_number": VALID_ID.lower(), "name": "王 芳"},
        format="json",
    )
    assert again.status_code == 409, again.content
    assert again.data["existing"]["number"] == first.data["number"]
    assert again.data["existing"]["url"] == f"/customers/{first.data['id']}/"
    assert "id_number" in again.data["errors"] and "已有客户" in again.data["detail"]
    assert (Customer.objects.count(), AuditEntry.objects.count()) == (customers, audit_rows)
    # a rep of another station learns that the ID is registered, not whose it is
    other = api("hx_rep").post(
        "/api/customers/customers/", {**payload, "org_unit": OrgUnit.objects.get(code="HX").pk}, format="json"
    )
    assert other.status_code == 409 and "existing" not in other.data, other.data
    assert first.data["number"] not in str(other.data) and "王芳" not in str(other.data)
    assert Customer.objects.count() == customers


def test_registration_form_links_the_existing_customer(client, staff, system) -> None:
    existing = register(system, VALID_ID, name="吴磊")
    client.force_login(staff("cg_rep"))
    before = Customer.objects.count()
    page = client.post(
        "/customers/new/",
        {
            "name": "吴磊",
            "kind": "individual",
            "id_type": "resident_id",
            "id_number": VALID_ID,
            "org_unit": OrgUnit.objects.get(code="CG").pk,
            "contact_name": "吴磊",
            "contact_mobile": "13912345678",
        },
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "已有客户" in html and f'<a href="/customers/{existing.pk}/">{existing.number}</a>' in html
    assert Customer.objects.count() == before


def test_changing_an_id_to_one_in_use_is_refused(system) -> None:
    first = register(system, VALID_ID)
    second = register(system, resident_id(801), name="李四")
    with pytest.raises(actions.DuplicateCustomer):
        actions.do_update_customer(system, second, id_number=VALID_ID)
    second.refresh_from_db()
    assert second.id_number == resident_id(801) and first.id_number == VALID_ID


def test_the_database_holds_one_customer_per_id_document(system) -> None:
    existing = register(system, VALID_ID)
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(
            number="KH7777777777",
            kind="individual",
            name="重复",
            id_type=existing.id_type,
            id_number=existing.id_number,
            org_unit=existing.org_unit,
        )


def test_import_does_not_reuse_a_number_a_registration_holds(client, staff, system) -> None:
    """A registration has drawn a number and not yet saved it; an import running meanwhile takes other ones
    (``max + 1`` gave the import the very number the registration was about to save)."""
    from gridcare.customers.importing import run_import

    from .test_import import customer_row, sheet, template_headers

    register(system, resident_id(950), name="已有客户")
    in_flight = next_number(actions.CUSTOMER_NUMBERS, Customer, "KH", 10)  # drawn, not saved yet
    client.force_login(staff("cg_rep"))
    rows = [customer_row(n) for n in (11, 12)]
    result = run_import(system, "customers", sheet(template_headers(client, "customers"), rows))
    assert result.errors == [] and result.created["customers"] == 2
    imported = set(Customer.objects.filter(name__startswith="导入客户").values_list("number", flat=True))
    assert len(imported) == 2 and in_flight not in imported


@pytest.mark.django_db(transaction=True)
def test_advancing_the_counter_never_gives_a_value_twice_while_others_draw(
    django_db_serialized_rollback,
) -> None:
    """One connection draws values in bulk while another advances the counter past numbers already used (what
    two chunks of a file's posting do at once): every value drawn is drawn once. Setting the sequence to
    ``GREATEST(value, last_value)`` moved it back past values drawn in between. (SQLite serialises writers: the
    two take turns there.)"""
    import threading

    from django.db import connections

    from gridcare.core.numbering import Counter
    from tests.concurrency import truly_concurrent

    counter = Counter("test_race", "ledger_receipt_number_seq")
    drawn: list[int] = []
    done = threading.Event()

    def draw_once() -> None:
        drawn.extend(counter.take(2000))

    def advance_once() -> None:
        counter.advance_to(max((drawn[-1] if drawn else 0) - 1000, 1))  # behind the counter: must not move it

    if not truly_concurrent():
        for _ in range(40):
            draw_once()
            advance_once()
    else:

        def draw() -> None:
            try:
                for _ in range(40):
                    draw_once()
            finally:
                done.set()
                connections.close_all()

        def advance() -> None:
            try:
                while not done.is_set():
                    advance_once()
            finally:
                connections.close_all()

        threads = [threading.Thread(target=draw), threading.Thread(target=advance)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(drawn) == 80_000
    assert len(set(drawn)) == len(drawn)
