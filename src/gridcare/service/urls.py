from django.urls import path

from gridcare.service import views

app_name = "service"

urlpatterns = [
    path("", views.DeskView.as_view(queue_name="team"), name="desk"),
    path("my/", views.DeskView.as_view(queue_name="my"), name="my-queue"),
    path("team/", views.DeskView.as_view(queue_name="team"), name="team-queue"),
    path("near-breach/", views.DeskView.as_view(queue_name="near"), name="near-queue"),
    path("overdue/", views.DeskView.as_view(queue_name="overdue"), name="overdue-queue"),
    path("orders/", views.DeskView.as_view(queue_name="all"), name="all-queue"),
    path("orders/new/", views.IntakeView.as_view(), name="order-create"),
    path("intake/suggest/", views.IntakeSuggestView.as_view(), name="intake-suggest"),
    path("intake/caller/", views.IntakeCallerView.as_view(), name="intake-caller"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/<slug:step>/", views.StepView.as_view(), name="order-step"),
    path(
        "compensations/<int:pk>/<slug:decision>/",
        views.CompensationDecisionView.as_view(),
        name="compensation-decide",
    ),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("reports/", views.ReportsView.as_view(), name="reports"),
    path(
        "reports/<slug:code>/<str:month>.<slug:fmt>",
        views.ReportDownloadView.as_view(),
        name="report-download",
    ),
    path("policies/", views.PolicyListView.as_view(), name="policy-list"),
    path("policies/<int:pk>/edit/", views.PolicyEditView.as_view(), name="policy-edit"),
    path("stock/", views.StockListView.as_view(), name="stock"),
]
