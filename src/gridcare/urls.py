from django.contrib.auth import views as auth_views
from django.urls import include, path

from gridcare.web.views import WorkbenchView

urlpatterns = [
    path("", WorkbenchView.as_view(), name="workbench"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("org/", include("gridcare.org.urls")),
    path("system/", include("gridcare.core.urls")),
    path("api/", include("gridcare.api.urls")),
]
