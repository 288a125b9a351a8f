from django.urls import path

from gridcare.market import views

app_name = "market"

urlpatterns = [
    path("reports/", views.ReportListView.as_view(), name="report-list"),
    path("reports/new/", views.ReportCreateView.as_view(), name="report-create"),
    path("reports/<int:pk>/", views.ReportDetailView.as_view(), name="report-detail"),
    path("reports/<int:pk>/attach/", views.AttachmentAddView.as_view(), name="report-attach"),
    path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment-download"),
    path("surveys/", views.SurveyListView.as_view(), name="survey-list"),
    path("surveys/new/", views.SurveyCreateView.as_view(), name="survey-create"),
    path("surveys/<int:pk>/", views.SurveyDetailView.as_view(), name="survey-detail"),
    path("surveys/<int:pk>/draw/", views.SurveyDrawView.as_view(), name="survey-draw"),
    path("surveys/<int:pk>/close/", views.SurveyCloseView.as_view(), name="survey-close"),
    path("surveys/<int:pk>/export/", views.SurveyExportView.as_view(), name="survey-export"),
    path("sample/", views.SampleListView.as_view(), name="sample-list"),
    path("sample/<int:pk>/", views.InterviewView.as_view(), name="interview"),
    path("sample/<int:pk>/phone/", views.SamplePhoneView.as_view(), name="sample-phone"),
    path("contractors/", views.ContractorListView.as_view(), name="contractor-list"),
    path("contractors/new/", views.ContractorCreateView.as_view(), name="contractor-create"),
    path("contractors/assign/", views.ProjectAssignView.as_view(), name="contractor-assign"),
    path("contractors/<int:pk>/", views.ContractorDetailView.as_view(), name="contractor-detail"),
    path(
        "contractors/<int:pk>/qualifications/",
        views.QualificationAddView.as_view(),
        name="qualification-add",
    ),
    path("contractors/<int:pk>/records/", views.PerformanceAddView.as_view(), name="performance-add"),
]
