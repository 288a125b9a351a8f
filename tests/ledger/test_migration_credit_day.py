"""Migration ``ledger 0008``: the allocations already there get their credit's day, and the table stays immutable."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("ledger", "0007_prepaid")]


def _migrate(targets: list[tuple[str, str]] | None) -> None:
    """To ``targets``, or (None) every app's latest migration — whatever came to depend on ledger 0008 too."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets if targets is not None else executor.loader.graph.leaf_nodes())


def test_existing_allocations_get_their_credits_day_and_stay_immutable(account, release, cashier) -> None:
    from gridcare.ledger.actions import do_take_payment
    from gridcare.ledger.models import Allocation

    acc = account()
    release(acc, "10.00")
    payment = do_take_payment(cashier(), account=acc, amount="4.00", method="cash")
    allocation = Allocation.objects.get(account=acc)
    _migrate(BEFORE)  # the column gone: the rows as an older release left them
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM ledger_allocation")
            assert cursor.fetchone()[0] == 1
    finally:
        _migrate(None)
    assert Allocation.objects.get(pk=allocation.pk).credit_day == payment.day
    with pytest.raises(DatabaseError), transaction.atomic():
        Allocation.objects.filter(pk=allocation.pk).update(amount="1.00")
