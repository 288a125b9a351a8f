"""WSGI entry point for production servers (``gridcare serve`` runs it under Granian; gunicorn works too)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
whole = get_wsgi_application()

from gridcare.api.machine import URLCONF, route_machine_api  # noqa: E402 - needs the apps loaded above

# the banks' and aggregators' routes on a lean handler of their own (gridcare.api.machine)
application = route_machine_api(whole)

# A server process lives long and allocates a lot per request. Load everything requests use now (every app's
# views, API and forms come in with the URL patterns), then move those objects out of the garbage collector's
# reach: its full collections otherwise walk the whole framework again and again, stalling every thread of the
# process for tens of milliseconds under load. Young objects are collected less often for the same reason.
get_resolver().url_patterns  # noqa: B018 - imported for its side effect
get_resolver(URLCONF).url_patterns  # noqa: B018
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 20, 20)
