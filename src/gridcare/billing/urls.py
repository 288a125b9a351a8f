from django.urls import path

from gridcare.billing import views

app_name = "billing"

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.RunDetailView.as_view(), name="run-detail"),
    path("runs/<int:pk>/resume/", views.RunResumeView.as_view(), name="run-resume"),
    path("bills/", views.BillListView.as_view(), name="bill-list"),
    path("bills/<int:pk>/", views.BillDetailView.as_view(), name="bill-detail"),
    path("bills/<int:pk>/pdf/", views.BillPdfView.as_view(), name="bill-pdf"),
    path("bills/<int:pk>/release/", views.BillReleaseView.as_view(), name="bill-release"),
    path("bills/<int:pk>/rerate/", views.BillRerateView.as_view(), name="bill-rerate"),
    path("reports/", views.ReportsView.as_view(), name="reports"),
    path("rules/", views.RulesView.as_view(), name="rules"),
    path("sales-plan/", views.SalesPlanView.as_view(), name="sales-plan"),
    path("rules/<str:code>/edit/", views.RuleEditView.as_view(), name="rule-edit"),
    path("review/", views.ReviewListView.as_view(), name="review"),
    path("review/release/", views.ReviewReleaseView.as_view(), name="review-release"),
    path("findings/<int:pk>/accept/", views.FindingAcceptView.as_view(), name="finding-accept"),
    path("rebills/", views.RebillListView.as_view(), name="rebill-list"),
    path("rebills/new/", views.RebillCreateView.as_view(), name="rebill-create"),
    path("rebills/<int:pk>/", views.RebillDetailView.as_view(), name="rebill-detail"),
    path("rebills/<int:pk>/submit/", views.RebillSubmitView.as_view(), name="rebill-submit"),
    path("rebills/<int:pk>/approve/", views.RebillApproveView.as_view(), name="rebill-approve"),
    path("rebills/<int:pk>/reject/", views.RebillRejectView.as_view(), name="rebill-reject"),
    path("rebills/<int:pk>/withdraw/", views.RebillWithdrawView.as_view(), name="rebill-withdraw"),
    path("rebills/<int:pk>/post/", views.RebillPostView.as_view(), name="rebill-post"),
]
