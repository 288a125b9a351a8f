"""The REST API, assembled from the apps: each app's ``api.py`` lists ``ROUTES = [(prefix, viewset, basename)]``."""

from typing import Any

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from gridcare.core.discovery import app_modules
from gridcare.org.security import TokenView


class Router(DefaultRouter):
    """No ``.json`` / ``.api`` suffix routes: clients ask for JSON by header, and every request is matched
    against half as many patterns."""

    include_format_suffixes = False

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        """Ids are whole numbers unless a viewset says otherwise: ``/orders/day/`` can never be taken for the
        order with id "day", and a malformed id is a plain 404."""
        if getattr(viewset, "lookup_value_regex", None) is None:
            field = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
            return f"(?P<{lookup_prefix}{field}>[0-9]+)"
        return super().get_lookup_regex(viewset, lookup_prefix)


router = Router()
for _config, module in app_modules("api"):
    for prefix, viewset, basename in getattr(module, "ROUTES", ()):
        router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("", include(router.urls)),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
