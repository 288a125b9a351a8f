from django.urls import path

from gridcare.billing import views

app_name = "billing"

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("bills/", views.BillListView.as_view(), name="bill-list"),
    path("bills/<int:pk>/", views.BillDetailView.as_view(), name="bill-detail"),
    path("bills/<int:pk>/pdf/", views.BillPdfView.as_view(), name="bill-pdf"),
    path("bills/<int:pk>/release/", views.BillReleaseView.as_view(), name="bill-release"),
    path("bills/<int:pk>/rerate/", views.BillRerateView.as_view(), name="bill-rerate"),
    path("reports/", views.ReportsView.as_view(), name="reports"),
    path("rules/", views.RulesView.as_view(), name="rules"),
    path("rules/<str:code>/edit/", views.RuleEditView.as_view(), name="rule-edit"),
    path("review/", views.ReviewListView.as_view(), name="review"),
    path("review/release/", views.ReviewReleaseView.as_view(), name="review-release"),
    path("findings/<int:pk>/accept/", views.FindingAcceptView.as_view(), name="finding-accept"),
]
