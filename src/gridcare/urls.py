"""Root URLs: login, workbench, language switch, the API, and each app's screens under ``/<app label>/``."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from gridcare.core.discovery import app_modules
from gridcare.web.views import FaviconView, WorkbenchView

# Apps whose screens live under another prefix than their label.
PREFIXES = {"core": "system"}

urlpatterns = [
    path("", WorkbenchView.as_view(), name="workbench"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("gridcare.api.urls")),
]

for config, _module in app_modules("urls"):
    prefix = PREFIXES.get(config.label, config.label)
    urlpatterns.append(path(f"{prefix}/", include(f"{config.name}.urls")))
