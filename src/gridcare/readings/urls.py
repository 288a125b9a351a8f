from django.urls import path

from gridcare.readings import views

app_name = "readings"

urlpatterns = [
    path("routes/", views.RouteListView.as_view(), name="route-list"),
    path("routes/<int:pk>/read/", views.RouteReadingView.as_view(), name="route-read"),
    path("tasks/", views.TaskListView.as_view(), name="task-list"),
    path("exceptions/", views.ExceptionListView.as_view(), name="exception-list"),
    path("exceptions/<int:pk>/decide/", views.ExceptionDecisionView.as_view(), name="exception-decide"),
    path("exceptions/<int:pk>/approve/", views.EstimateApprovalView.as_view(), name="exception-approve"),
    path("rules/", views.VeeRuleListView.as_view(), name="rule-list"),
]
