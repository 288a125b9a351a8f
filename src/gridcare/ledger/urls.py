from django.urls import path

from gridcare.ledger import prepaid_views, report_views, views

app_name = "ledger"

urlpatterns = [
    path("counter/", views.CounterView.as_view(), name="counter"),
    path("payments/", views.PaymentListView.as_view(), name="payment-list"),
    path("payments/<int:pk>/receipt.pdf", views.ReceiptView.as_view(), name="receipt"),
    path("payments/<int:pk>/reverse/", views.ReverseView.as_view(), name="reverse"),
    path("accounts/<int:account>/refund/", views.RefundRequestView.as_view(), name="refund"),
    path("entries/<int:pk>/ask/", views.CreditRequestView.as_view(), name="ask-credit"),
    path("dunning/", views.DunningView.as_view(), name="dunning"),
    path("dunning/remind/", views.DunningActView.as_view(), {"step": "remind"}, name="dunning-remind"),
    path("dunning/<int:pk>/<str:step>/", views.DunningActView.as_view(), name="dunning-act"),
    path("dunning/<int:pk>/notice.pdf", views.NoticeView.as_view(), name="dunning-notice"),
    path("plans/", views.PlanListView.as_view(), name="plans"),
    path("plans/<int:pk>/decide/", views.PlanDecideView.as_view(), name="plan-decide"),
    path("close/", views.CloseView.as_view(), name="close"),
    path("approvals/", views.ApprovalListView.as_view(), name="approvals"),
    path("approvals/<int:pk>/decide/", views.DecideView.as_view(), name="decide"),
    path("reconcile/", views.ReconcileView.as_view(), name="reconcile"),
    path("reconcile/<int:pk>/", views.FileView.as_view(), name="file"),
    path("reconcile/<int:pk>/post-missing/", views.PostMissingView.as_view(), name="post-missing"),
    path("differences/<int:pk>/resolve/", views.ResolveView.as_view(), name="resolve"),
    path("prepaid/", prepaid_views.PrepaidListView.as_view(), name="prepaid"),
    path("prepaid/<int:pk>/", prepaid_views.PrepaidAccountView.as_view(), name="prepaid-account"),
    path("reports/aging/", report_views.AgingView.as_view(), name="aging"),
    path("reports/collection/", report_views.CollectionView.as_view(), name="collection"),
    path("reports/cashiers/", report_views.CashierReportView.as_view(), name="cashier-report"),
    path("reports/bad-debt/", report_views.BadDebtView.as_view(), name="bad-debt"),
]
