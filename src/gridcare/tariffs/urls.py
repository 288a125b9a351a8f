from django.urls import path

from gridcare.tariffs import views

app_name = "tariffs"

urlpatterns = [
    path("", views.TariffListView.as_view(), name="tariff-list"),
    path("upload/", views.TariffUploadView.as_view(), name="tariff-upload"),
    path("<int:pk>/", views.TariffDetailView.as_view(), name="tariff-detail"),
    path("<int:pk>/version/", views.VersionUploadView.as_view(), name="tariff-version"),
    path("<int:pk>/quote/", views.QuoteView.as_view(), name="tariff-quote"),
    path("<int:pk>/compare-basic/", views.CompareBasicView.as_view(), name="tariff-compare"),
]
