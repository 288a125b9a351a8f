from django.urls import path

from gridcare.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="customer-list"),
    path("new/", views.CustomerCreateView.as_view(), name="customer-create"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("autocomplete/", views.CustomerAutocompleteView.as_view(), name="customer-autocomplete"),
    path("accounts/autocomplete/", views.AccountAutocompleteView.as_view(), name="account-autocomplete"),
    path(
        "service-points/autocomplete/",
        views.ServicePointAutocompleteView.as_view(),
        name="servicepoint-autocomplete",
    ),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("<int:pk>/edit/", views.CustomerEditView.as_view(), name="customer-edit"),
    path("<int:pk>/unmask/", views.CustomerUnmaskView.as_view(), name="customer-unmask"),
    path("<int:pk>/tab/<slug:key>/", views.CustomerTabView.as_view(), name="customer-tab"),
    path("<int:pk>/contacts/new/", views.ContactCreateView.as_view(), name="contact-create"),
    path("<int:pk>/accounts/new/", views.AccountCreateView.as_view(), name="account-create"),
    path("accounts/", views.AccountListView.as_view(), name="account-list"),
    path("accounts/<int:pk>/edit/", views.AccountEditView.as_view(), name="account-edit"),
    path(
        "accounts/<int:pk>/service-points/new/",
        views.ServicePointCreateView.as_view(),
        name="servicepoint-create",
    ),
    path("accounts/<int:pk>/contracts/new/", views.ContractCreateView.as_view(), name="contract-create"),
    path("service-points/", views.ServicePointListView.as_view(), name="servicepoint-list"),
    path("service-points/<int:pk>/", views.ServicePointDetailView.as_view(), name="servicepoint-detail"),
    path("service-points/<int:pk>/tariff/", views.TariffChangeView.as_view(), name="servicepoint-tariff"),
    path(
        "service-points/<int:pk>/capacity/", views.CapacityChangeView.as_view(), name="servicepoint-capacity"
    ),
    path("service-points/<int:pk>/demand/", views.DemandChangeView.as_view(), name="servicepoint-demand"),
    path("service-points/<int:pk>/class/", views.ClassChangeView.as_view(), name="servicepoint-class"),
    path("contracts/", views.ContractListView.as_view(), name="contract-list"),
    path("contracts/expiring/", views.ExpiringContractListView.as_view(), name="contract-expiring"),
    path("import/", views.ImportView.as_view(), name="import"),
    path("import/template/<slug:kind>/", views.ImportTemplateView.as_view(), name="import-template"),
    path("import/errors/<str:token>/", views.ImportErrorsView.as_view(), name="import-errors"),
]
