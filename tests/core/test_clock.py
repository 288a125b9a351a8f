"""The business clock of a replay: Django's clock (now, localdate, model defaults) as of a past moment, restored
after the block, nestable; the real time stays reachable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from gridcare.core import clock


def test_as_of_moves_djangos_clock_and_restores_it() -> None:
    moment = clock.at_local(dt.date(2026, 3, 2), 10)
    before = timezone.now()
    with clock.as_of(moment):
        now = timezone.now()
        assert moment <= now < moment + dt.timedelta(minutes=1)
        assert timezone.localdate() == dt.date(2026, 3, 2)
        assert timezone.localtime().hour == 10
        assert clock.real_now() >= before  # the wall clock is still there
        later = timezone.now()
        assert later >= now  # the replayed clock runs on: records keep their order
    assert timezone.now() >= before
    assert abs(timezone.now() - clock.real_now()) < dt.timedelta(seconds=5)


def test_model_defaults_take_the_replayed_time() -> None:
    from gridcare.ledger.models import DunningCase

    moment = clock.at_local(dt.date(2026, 5, 6), 9)
    with clock.as_of(moment):
        default = DunningCase._meta.get_field("opened_at").get_default()
    assert moment <= default < moment + dt.timedelta(minutes=1)


def test_blocks_nest_and_template_localtime_still_converts() -> None:
    outer = clock.at_local(dt.date(2026, 1, 5), 10)
    inner = clock.at_local(dt.date(2026, 2, 9), 15)
    with clock.as_of(outer):
        with clock.as_of(inner):
            assert timezone.localdate() == dt.date(2026, 2, 9)
        assert timezone.localdate() == dt.date(2026, 1, 5)
        aware = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)  # the isinstance check inside still holds:
        assert timezone.template_localtime(aware) == timezone.localtime(aware)  # type: ignore[attr-defined]
    assert timezone.datetime is dt.datetime  # type: ignore[attr-defined]


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError), clock.as_of(dt.datetime(2026, 1, 5, 10)):
        pass
