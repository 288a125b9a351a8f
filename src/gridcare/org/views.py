"""Staff screens of the organisation app, declared with the shared list/detail/form patterns."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from gridcare.core.access import get_in_scope, has_perm
from gridcare.core.errors import GridcareError, NotFound, PermissionRefused
from gridcare.core.ownership import OwnedField, count_owned, owned_fields
from gridcare.core.requests import StaffHttpRequest
from gridcare.org import actions
from gridcare.org.filters import OrgUnitFilter, PositionFilter, StaffFilter
from gridcare.org.forms import (
    LeaveForm,
    LimitForm,
    OrgUnitEditForm,
    OrgUnitForm,
    PositionForm,
    StaffEditForm,
    StaffForm,
)
from gridcare.org.models import OrgUnit, Position, PositionChangeRequest, User
from gridcare.org.selectors import grantable_positions, unit_tree
from gridcare.web.display import localized_name
from gridcare.web.views import (
    ActionFormView,
    AutocompleteView,
    Column,
    ScopedDetailView,
    ScopedListView,
    StaffMixin,
)

PROPOSED = _(
    "Proposed: a change to an administrator position applies once a second administrator approves it."
)


def offer_positions(form: forms.Form, positions: QuerySet[Position]) -> None:
    """Limit a staff form's position choices (to those the person at the screen may hand out)."""
    field = form.fields["position"]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = positions


class FourEyesFormMixin:
    """An action that may answer with a pending change request (four-eyes) instead of applying."""

    success_message: Any

    def after_action(self, result: Any) -> Any:
        if isinstance(result, PositionChangeRequest):
            self.success_message = PROPOSED
        return result

    def success_url(self, result: Any) -> str:
        if isinstance(result, PositionChangeRequest):
            return reverse("org:position-change-list")
        return result.get_absolute_url()


class UnitListView(ScopedListView):
    model = OrgUnit
    permission = "org.view"
    filterset_class = OrgUnitFilter
    title = _("Org units")
    export_name = "org-units"
    create_url_name = "org:unit-create"
    create_permission = "org.manage_units"
    columns = [
        Column(_("Name"), "name"),
        Column(_("Code"), "code"),
        Column(_("Kind"), "get_kind_display"),
        Column(_("Parent unit"), "parent.name"),
        Column(_("Head"), "head.display_name"),
        Column(_("Path"), "path"),
        Column(_("Active"), "is_active"),
    ]

    def base_queryset(self):
        return OrgUnit.objects.select_related("parent", "head")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """The org chart as a tree (组织机构树); the flat list when asked (``?view=list``), filtered or
        exported."""
        if set(request.GET) - {"view"} or request.GET.get("view") == "list":
            return super().get(request, *args, **kwargs)
        return render(
            request,
            "org/unit_tree.html",
            {
                "title": self.title,
                "roots": unit_tree(self.request.user),
                "can_create": has_perm(request.user, self.create_permission),
            },
        )


class UnitDetailView(ScopedDetailView):
    model = OrgUnit
    permission = "org.view"
    template_name = "org/unit_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        unit = context["object"]
        context["children"] = unit.children.all()
        context["staff"] = unit.staff.select_related("position").filter(is_active=True)
        context["can_manage"] = has_perm(self.request.user, "org.manage_units")
        return context


class UnitCreateView(ActionFormView):
    permission = "org.manage_units"
    form_class = OrgUnitForm
    title = _("New org unit")

    def perform(self, data: dict[str, Any]) -> OrgUnit:
        return actions.do_create_unit(self.request.user, **data)


class UnitEditView(ActionFormView):
    permission = "org.manage_units"
    form_class = OrgUnitEditForm
    title = _("Edit org unit")

    def unit(self) -> OrgUnit:
        return get_in_scope(OrgUnit.objects.all(), self.request.user, pk=self.kwargs["pk"])

    def get_initial(self) -> dict[str, Any]:
        unit = self.unit()
        return {"name": unit.name, "kind": unit.kind, "head": unit.head_id, "is_active": unit.is_active}

    def perform(self, data: dict[str, Any]) -> OrgUnit:
        return actions.do_update_unit(self.request.user, self.unit(), **data)


class PositionListView(ScopedListView):
    model = Position
    permission = "org.view"
    filterset_class = PositionFilter
    title = _("Positions")
    export_name = "positions"
    columns = [
        Column(_("Name"), localized_name),
        Column(_("Level"), "get_level_display"),
        Column(_("Superior position"), "superior.name"),
        Column(_("Data scope"), "get_data_scope_display"),
        Column(_("Staff"), "active_staff"),
    ]

    def base_queryset(self):
        return Position.objects.select_related("superior").annotate(
            active_staff=Count("staff", filter=Q(staff__is_active=True))
        )


class PositionDetailView(ScopedDetailView):
    model = Position
    permission = "org.view"
    template_name = "org/position_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        position = context["object"]
        context["permissions"] = position.permissions.all()
        context["limits"] = position.limits.select_related("limit_type")
        context["kpis"] = position.kpis.all()
        context["can_manage"] = has_perm(self.request.user, "org.manage_positions")
        return context


class PositionEditView(FourEyesFormMixin, ActionFormView):
    permission = "org.manage_positions"
    form_class = PositionForm
    title = _("Edit position permissions and data scope")

    def position(self) -> Position:
        return get_object_or_404(Position, pk=self.kwargs["pk"])

    def get_initial(self) -> dict[str, Any]:
        position = self.position()
        return {
            "data_scope": position.data_scope,
            "read_scope": position.read_scope,
            "permissions": list(position.permissions.all()),
        }

    def perform(self, data: dict[str, Any]) -> Position | PositionChangeRequest:
        return self.after_action(
            actions.do_update_position(
                self.request.user,
                self.position(),
                data_scope=data["data_scope"],
                read_scope=data.get("read_scope") or "",
                permissions=[p.code for p in data["permissions"]],
            )
        )


class PositionLimitView(FourEyesFormMixin, ActionFormView):
    permission = "org.manage_positions"
    form_class = LimitForm
    title = _("Set authority limit")

    def perform(self, data: dict[str, Any]) -> Position | PositionChangeRequest:
        position = get_object_or_404(Position, pk=self.kwargs["pk"])
        result = actions.do_set_authority_limit(
            self.request.user, position, data["limit_type"].code, data["amount"]
        )
        if isinstance(result, PositionChangeRequest):
            return self.after_action(result)
        return position


class PositionChangeListView(StaffMixin, TemplateView):
    """双人复核 — changes to administrator positions: pending ones with approve / reject, then the decided ones."""

    permission = "org.manage_positions"
    template_name = "org/position_changes.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        changes = PositionChangeRequest.objects.select_related("position", "proposed_by", "decided_by")
        return super().get_context_data(
            title=_("Position changes awaiting a second administrator"),
            pending=changes.filter(status=PositionChangeRequest.Status.PENDING),
            decided=changes.exclude(status=PositionChangeRequest.Status.PENDING)[:50],
            **kwargs,
        )


class PositionChangeDecideView(StaffMixin, View):
    """POST ``approve`` or ``reject`` on a pending change; the action refuses the proposer and non-admins."""

    permission = "org.manage_positions"
    approve = True

    def post(self, request: StaffHttpRequest, pk: int) -> HttpResponse:
        change = get_object_or_404(PositionChangeRequest, pk=pk)
        try:
            actions.do_decide_position_change(
                request.user, change, approve=self.approve, reason=request.POST.get("reason", "")[:200]
            )
        except NotFound:
            raise Http404 from None
        except PermissionRefused as exc:
            messages.error(request, exc.message)
            response = PositionChangeListView.as_view()(request)
            response.status_code = 403
            return response
        except GridcareError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Approved: the change applies now.") if self.approve else _("Rejected.")
            )
        return HttpResponseRedirect(reverse("org:position-change-list"))


class StaffListView(ScopedListView):
    model = User
    permission = "org.view"
    filterset_class = StaffFilter
    title = _("Staff")
    export_name = "staff"
    create_url_name = "org:staff-create"
    create_permission = "org.manage_staff"
    columns = [
        Column(_("Full name"), "display_name"),
        Column(_("Username"), "username"),
        Column(_("Employee number"), "employee_no"),
        Column(_("Position"), "position.name"),
        Column(_("Unit"), "org_unit.name"),
        Column(_("Active"), "is_active"),
        Column(_("Left on"), "left_on"),
    ]

    def base_queryset(self):
        return User.objects.filter(position__isnull=False).select_related("position", "org_unit")


def owned_label(entry: OwnedField) -> str:
    """What kind of record a person owns, in the UI language ("户号（客户经理）"), not its registry key."""
    meta = entry.model._meta
    field = meta.get_field(entry.field)
    return f"{capfirst(str(meta.verbose_name_plural))}（{getattr(field, 'verbose_name', entry.field)}）"


class StaffAutocompleteView(AutocompleteView):
    """员工 by name, username or employee number — for the staff filters of the staff, account (客户经理) and
    audit lists, hence open to any of their permissions."""

    model = User
    permission = ("org.view", "customer.view", "audit.view", "workorder.view")
    search_fields = ("full_name__icontains", "username__startswith", "employee_no__startswith")

    def base_queryset(self):
        return User.objects.filter(position__isnull=False).select_related("position")

    def label(self, obj: Any) -> str:
        return f"{obj.display_name} · {obj.position.name}" if obj.position else obj.display_name


class StaffDetailView(ScopedDetailView):
    model = User
    permission = "org.view"
    template_name = "org/staff_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        entries = {entry.key: entry for entry in owned_fields()}
        context["owned"] = [
            (owned_label(entries[key]), count)
            for key, count in count_owned(context["object"]).items()
            if count
        ]
        context["can_manage"] = has_perm(self.request.user, "org.manage_staff")
        return context


class StaffCreateView(ActionFormView):
    permission = "org.manage_staff"
    form_class = StaffForm
    title = _("New staff member")

    def get_form(self, data: Any = None) -> forms.Form:
        form = super().get_form(data)
        offer_positions(form, grantable_positions(self.request.user))
        return form

    def perform(self, data: dict[str, Any]) -> User:
        return actions.do_create_staff(self.request.user, **data)


class StaffEditView(ActionFormView):
    permission = "org.manage_staff"
    form_class = StaffEditForm
    title = _("Edit staff member")

    def staff(self) -> User:
        return get_in_scope(User.objects.all(), self.request.user, pk=self.kwargs["pk"])

    def get_initial(self) -> dict[str, Any]:
        staff = self.staff()
        return {
            f: getattr(staff, f)
            for f in ("full_name", "employee_no", "phone", "email", "position", "org_unit")
        }

    def get_form(self, data: Any = None) -> forms.Form:
        form = super().get_form(data)
        current = Position.objects.filter(pk__in=[self.staff().position_id])
        offer_positions(form, grantable_positions(self.request.user) | current)
        return form

    def perform(self, data: dict[str, Any]) -> User:
        data["employee_no"] = data.get("employee_no") or None
        return actions.do_update_staff(self.request.user, self.staff(), **data)


class StaffLeaveView(ActionFormView):
    """离岗交接 — a person leaves; their customers and cases go to a successor or the supervisor's queue."""

    permission = "org.manage_staff"
    form_class = LeaveForm
    title = _("Staff leaves: hand over everything they own")
    success_message = _("Handover done: everything the person owned now has an owner.")

    def perform(self, data: dict[str, Any]) -> User:
        staff = get_in_scope(User.objects.all(), self.request.user, pk=self.kwargs["pk"])
        return actions.do_staff_leave(
            self.request.user, staff, successor=data["successor"], left_on=data["left_on"]
        )

    def success_url(self, result: Any) -> str:
        return reverse("org:staff-detail", args=[result.pk])


class LoginLogView(StaffMixin, TemplateView):
    """登录日志 — successful and failed logins (screen and API token), and the lockouts in force."""

    permission = "security.view_logins"
    template_name = "org/login_log.html"
    limit = 200

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.conf import settings

        username = self.request.GET.get("username", "").strip()[:150]
        result = self.request.GET.get("result", "")
        successes = AccessLog.objects.order_by("-attempt_time")
        failures = AccessFailureLog.objects.order_by("-attempt_time")
        if username:
            successes = successes.filter(username=username)
            failures = failures.filter(username=username)
        rows: list[dict[str, Any]] = []
        if result in ("", "success"):
            rows += [_login_row(r, "success") for r in successes[: self.limit]]
        if result in ("", "failure"):
            rows += [_login_row(r, "locked" if r.locked_out else "failure") for r in failures[: self.limit]]
        rows.sort(key=lambda row: row["when"], reverse=True)
        locked = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).order_by(
            "-attempt_time"
        )
        return super().get_context_data(
            title=_("Login log"),
            rows=rows[: self.limit],
            locked=locked,
            username=username,
            result=result,
            **kwargs,
        )


def _login_row(attempt: Any, result: str) -> dict[str, Any]:
    """One line of the login log from an axes success or failure record."""
    return {
        "when": attempt.attempt_time,
        "username": attempt.username,
        "ip": attempt.ip_address,
        "path": attempt.path_info,
        "result": result,
        "agent": attempt.user_agent,
    }


class LoginUnlockView(StaffMixin, View):
    permission = "security.view_logins"

    def post(self, request: StaffHttpRequest) -> HttpResponse:
        username = request.POST.get("username", "").strip()[:150]
        if username:
            actions.do_unlock_login(request.user, username)
            messages.success(request, _("Lockout lifted."))
        return HttpResponseRedirect(reverse("org:login-log"))
