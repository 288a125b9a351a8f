"""The metering tests use the builders of the customer tests."""

from tests.customers.conftest import counts, make_meter, make_point, system, unit  # noqa: F401
