from django.urls import path

from gridcare.org import views

app_name = "org"

urlpatterns = [
    path("units/", views.UnitListView.as_view(), name="unit-list"),
    path("units/new/", views.UnitCreateView.as_view(), name="unit-create"),
    path("units/<int:pk>/", views.UnitDetailView.as_view(), name="unit-detail"),
    path("units/<int:pk>/edit/", views.UnitEditView.as_view(), name="unit-edit"),
    path("positions/", views.PositionListView.as_view(), name="position-list"),
    path("positions/<int:pk>/", views.PositionDetailView.as_view(), name="position-detail"),
    path("positions/<int:pk>/edit/", views.PositionEditView.as_view(), name="position-edit"),
    path("positions/<int:pk>/limit/", views.PositionLimitView.as_view(), name="position-limit"),
    path("position-changes/", views.PositionChangeListView.as_view(), name="position-change-list"),
    path(
        "position-changes/<int:pk>/approve/",
        views.PositionChangeDecideView.as_view(approve=True),
        name="position-change-approve",
    ),
    path(
        "position-changes/<int:pk>/reject/",
        views.PositionChangeDecideView.as_view(approve=False),
        name="position-change-reject",
    ),
    path("logins/", views.LoginLogView.as_view(), name="login-log"),
    path("logins/unlock/", views.LoginUnlockView.as_view(), name="login-unlock"),
    path("staff/", views.StaffListView.as_view(), name="staff-list"),
    path("staff/autocomplete/", views.StaffAutocompleteView.as_view(), name="staff-autocomplete"),
    path("staff/new/", views.StaffCreateView.as_view(), name="staff-create"),
    path("staff/<int:pk>/", views.StaffDetailView.as_view(), name="staff-detail"),
    path("staff/<int:pk>/edit/", views.StaffEditView.as_view(), name="staff-edit"),
    path("staff/<int:pk>/leave/", views.StaffLeaveView.as_view(), name="staff-leave"),
]
