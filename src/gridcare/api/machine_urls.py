"""The machine routes (:mod:`gridcare.api.machine`): the viewsets of the API marked ``machine_api = True``, at the
same addresses as in the whole API."""

from django.urls import include, path

from gridcare.api.urls import Router
from gridcare.core.discovery import app_modules

router = Router()
router.include_root_view = False
PREFIXES: list[str] = []
for _config, module in app_modules("api"):
    for prefix, viewset, basename in getattr(module, "ROUTES", ()):
        if getattr(viewset, "machine_api", False):
            router.register(prefix, viewset, basename=basename)
            PREFIXES.append(prefix)

urlpatterns = [path("api/", include(router.urls))]
handler404 = "gridcare.api.machine.not_found"
handler500 = "gridcare.api.machine.server_error"
