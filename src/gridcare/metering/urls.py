from django.urls import path

from gridcare.metering import views

app_name = "metering"

urlpatterns = [
    path("meters/", views.MeterListView.as_view(), name="meter-list"),
    path("meters/autocomplete/", views.MeterAutocompleteView.as_view(), name="meter-autocomplete"),
    path("meters/new/", views.MeterCreateView.as_view(), name="meter-create"),
    path("meters/<int:pk>/", views.MeterDetailView.as_view(), name="meter-detail"),
    path("meters/<int:pk>/install/", views.InstallView.as_view(), name="meter-install"),
    path("meters/<int:pk>/remove/", views.RemoveView.as_view(), name="meter-remove"),
    path("meters/<int:pk>/replace/", views.ReplaceView.as_view(), name="meter-replace"),
    path("meters/<int:pk>/test/", views.TestView.as_view(), name="meter-test"),
    path("meters/<int:pk>/status/", views.StatusView.as_view(), name="meter-status"),
    path("installations/", views.InstallationListView.as_view(), name="installation-list"),
    path("plan/", views.PlanView.as_view(), name="plan"),
    path("overdue/", views.OverdueView.as_view(), name="overdue"),
]
