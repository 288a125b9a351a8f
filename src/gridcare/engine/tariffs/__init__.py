"""Shipped tariff definitions (data files, loaded with ``gridcare.engine.tariff.load_shipped_tariff``)."""
