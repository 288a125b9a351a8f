"""The REST API, assembled from the apps' viewsets."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from gridcare.core.api import AuditEntryViewSet, CalendarOverrideViewSet
from gridcare.org.api import OrgUnitViewSet, PositionViewSet, StaffViewSet

router = DefaultRouter()
router.register("org/units", OrgUnitViewSet, basename="orgunit")
router.register("org/positions", PositionViewSet, basename="position")
router.register("org/staff", StaffViewSet, basename="staff")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("calendar/overrides", CalendarOverrideViewSet, basename="calendar-override")

urlpatterns = [
    path("", include(router.urls)),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
