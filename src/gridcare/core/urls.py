from django.urls import path

from gridcare.core import views

app_name = "core"

urlpatterns = [
    path("audit/", views.AuditLogView.as_view(), name="audit-log"),
    path("audit/<int:pk>/", views.AuditEntryDetailView.as_view(), name="audit-detail"),
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("calendar/override/", views.CalendarOverrideCreateView.as_view(), name="calendar-override"),
]
