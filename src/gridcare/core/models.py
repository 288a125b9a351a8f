"""Cross-cutting records: the audit log, business-calendar overrides and API idempotency keys."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridcare.core.errors import Conflict


class ImmutableRecordError(RuntimeError):
    """Raised when code tries to change or delete a record that the invariants say is permanent."""


class Immutable(models.Model):
    """A record inserted once, never saved again nor deleted through the ORM (the database refuses it too, by
    triggers in the app's migrations); a refusal says ``immutable_message``."""

    immutable_message: ClassVar[str] = "记录不可修改或删除 (this record is never changed or deleted)"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise Conflict(self.immutable_message)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise Conflict(self.immutable_message)


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    """Audit rows in bulk: read and insert only. ``update()``, ``delete()`` and ``bulk_update()`` refuse, as
    ``save()``/``delete()`` of one row do; on PostgreSQL a trigger refuses UPDATE and DELETE as well (and on
    SQLite UPDATE), so not even raw SQL changes the log (migration ``core.0004``)."""

    def update(self, **kwargs: object) -> int:
        raise ImmutableRecordError("Audit entries are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("Audit entries are never deleted.")

    def bulk_update(self, objs: object, fields: object, batch_size: int | None = None) -> int:
        raise ImmutableRecordError("Audit entries are never changed.")

    def update_or_create(self, *args: object, **kwargs: object) -> tuple[AuditEntry, bool]:
        raise ImmutableRecordError("Audit entries are never changed.")

    update.queryset_only = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class AuditEntry(models.Model):
    """One audited change: who, when, which action, which object, before and after (审计日志).

    Rows are written by actions in the same transaction as the change and are never edited or deleted.
    """

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    job_id = models.CharField(_("job id"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)

    scope_unit_path = "actor__org_unit__path"
    scope_owner = "actor"

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        # Every audited write inserts into each index, so only what the audit screens look up is indexed:
        # plain B-trees for exact matches (no pattern-ops twins), the object type through the composite.
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"]),
            models.Index(fields=["object_id"], name="core_audit_object_id"),
            models.Index(fields=["request_id"], name="core_audit_request_id"),
            models.Index(fields=["job_id"], name="core_audit_job_id"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableRecordError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("core:audit-detail", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecordError("Audit entries are never deleted.")


class CalendarOverride(models.Model):
    """A local holiday, or the official schedule of a year the calendar package does not know (调休数据)."""

    day = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    reason = models.CharField(_("reason"), max_length=120)

    scope_public = True

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.reason}"


class IdempotencyRecord(models.Model):
    """The first answer to an API write carrying an ``Idempotency-Key``; retries get it back unchanged."""

    user = models.ForeignKey(  # (indexed by the unique user and key)
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    # SHA-256 of method, path, query string and canonical body (gridcare.api.base.request_fingerprint)
    fingerprint = models.CharField(max_length=64, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()  # 0 while the first request is still running
    response = models.JSONField(encoder=DjangoJSONEncoder, null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="uniq_idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class NumberCounter(models.Model):
    """A named counter standing in for a PostgreSQL sequence on other databases (SQLite serialises writers)."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("number counter")
        verbose_name_plural = _("number counters")

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
