"""The customer and meter builders of tests/customers, for the list screens' tests."""

from tests.customers.conftest import make_meter, make_point, system, unit  # noqa: F401
