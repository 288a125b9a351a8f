from django.urls import path

from gridcare.keyaccounts import credit_views, views

app_name = "keyaccounts"

urlpatterns = [
    path("accounts/", views.PortfolioView.as_view(), name="account-list"),
    path("accounts/<int:pk>/", views.KeyAccountDetailView.as_view(), name="account-detail"),
    path("plan/", views.PlanListView.as_view(), name="plan-list"),
    path("plan/generate/", views.PlanGenerateView.as_view(), name="plan-generate"),
    path("visits/", views.VisitListView.as_view(), name="visit-list"),
    path("visits/new/", views.VisitCreateView.as_view(), name="visit-create"),
    path("prospects/", views.ProspectListView.as_view(), name="prospect-list"),
    path("prospects/new/", views.ProspectCreateView.as_view(), name="prospect-create"),
    path("prospects/pipeline/", views.PipelineView.as_view(), name="pipeline"),
    path("prospects/<int:pk>/", views.ProspectDetailView.as_view(), name="prospect-detail"),
    path("prospects/<int:pk>/edit/", views.ProspectUpdateView.as_view(), name="prospect-update"),
    path("prospects/<int:pk>/contact/", views.ProspectContactView.as_view(), name="prospect-contact"),
    path("prospects/<int:pk>/convert/", views.ProspectConvertView.as_view(), name="prospect-convert"),
    path("collisions/", views.CollisionListView.as_view(), name="collision-list"),
    path("collisions/<int:pk>/", views.CollisionDecideView.as_view(), name="collision-decide"),
    path("credit/", credit_views.CreditScoreListView.as_view(), name="credit-list"),
    path("credit/compute/", credit_views.CreditComputeView.as_view(), name="credit-compute"),
    path("credit/adjust/", credit_views.CreditAdjustView.as_view(), name="credit-adjust"),
    path("credit/adjustments/", credit_views.CreditAdjustmentListView.as_view(), name="credit-adjustments"),
    path("credit/adjustments/<int:pk>/", credit_views.CreditDecideView.as_view(), name="credit-decide"),
    path("credit/rules/", credit_views.CreditRulesView.as_view(), name="credit-rules"),
    path("budget/", credit_views.BudgetListView.as_view(), name="budget-list"),
    path("budget/export/", credit_views.BudgetExportView.as_view(), name="budget-export"),
    path("budget/set/", credit_views.BudgetSetView.as_view(), name="budget-set"),
    path("budget/expenses/", credit_views.ExpenseListView.as_view(), name="expense-list"),
    path("budget/expenses/new/", credit_views.ExpenseCreateView.as_view(), name="expense-create"),
    path("budget/expenses/<int:pk>/", credit_views.ExpenseDecideView.as_view(), name="expense-decide"),
]
