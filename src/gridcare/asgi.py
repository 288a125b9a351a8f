"""ASGI entry point (``gridcare serve`` runs it under Granian): the lanes of the machine API
(:mod:`gridcare.api.lane`, each app's ``api.LANES``) in the event loop, everything else — and whatever a lane
leaves — the WSGI application (:mod:`gridcare.wsgi`) in a pool of threads (:mod:`gridcare.core.wsgi_threads`;
``GRIDCARE_THREADS``, default 2)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")

from gridcare.api.lane import with_lanes  # noqa: E402
from gridcare.core.discovery import app_modules  # noqa: E402
from gridcare.core.wsgi_threads import WSGIThreads  # noqa: E402
from gridcare.wsgi import application as wsgi_application  # noqa: E402 - sets Django up

whole = WSGIThreads(wsgi_application, threads=int(os.environ.get("GRIDCARE_THREADS") or 2))
application = with_lanes(
    whole,
    [lane() for _config, module in app_modules("api") for lane in getattr(module, "LANES", ())],
)
