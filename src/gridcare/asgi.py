"""ASGI entry point (``gridcare serve`` runs it under Granian): the lanes of the machine API
(:mod:`gridcare.api.lane`, each app's ``api.LANES``) in the event loop, everything else — and whatever a lane
leaves — the WSGI application (:mod:`gridcare.wsgi`) in a2wsgi's threads (``GRIDCARE_THREADS``, default 2)."""

import os

from a2wsgi import WSGIMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")

from gridcare.api.lane import with_lanes  # noqa: E402
from gridcare.core.discovery import app_modules  # noqa: E402
from gridcare.wsgi import application as wsgi_application  # noqa: E402 - sets Django up

whole = WSGIMiddleware(wsgi_application, workers=int(os.environ.get("GRIDCARE_THREADS") or 2))
application = with_lanes(
    whole,  # type: ignore[arg-type]  # (a2wsgi's own ASGI types)
    [lane() for _config, module in app_modules("api") for lane in getattr(module, "LANES", ())],
    switch_interval=float(os.environ.get("GRIDCARE_SWITCH_INTERVAL") or 0.001),
)
