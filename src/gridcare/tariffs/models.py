"""The tariff catalogue (电价目录): tariffs and their effective-dated versions.

A version's body (components, TOU schedule) is stored in the engine's definition format
(``gridcare/engine/tariff_schema.json``, see docs/tariffs.md) and rated by :mod:`gridcare.engine.rating`.
OpenEI URDB tariffs keep their original JSON document.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tariff(models.Model):
    class Kind(models.TextChoices):
        CHINESE = "cn", _("Chinese tariff")
        URDB = "urdb", _("OpenEI URDB tariff")

    class CustomerClass(models.TextChoices):
        """用电类别 as the shipped definitions name it (free text in the field: URDB documents have others)."""

        RESIDENTIAL = "residential", _("Residential (居民生活)")
        GENERAL = "general_industry_commerce", _("General industry & commerce (一般工商业)")
        COMMERCIAL = "commercial", _("General industry & commerce (一般工商业)")
        LARGE_INDUSTRY = "large_industry", _("Large industry (大工业)")
        AGRICULTURE = "agriculture", _("Agricultural production (农业生产)")

    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.CHINESE)
    province = models.CharField(_("province"), max_length=40, blank=True)
    customer_class = models.CharField(_("customer class"), max_length=32, blank=True)
    description = models.TextField(_("description"), blank=True)
    urdb_document = models.JSONField(_("URDB document"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    display_choices = {"customer_class": CustomerClass}  # the classes of gridcare.web.display

    scope_public = True

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_absolute_url(self) -> str:
        return reverse("tariffs:tariff-detail", args=[self.pk])


class TariffVersion(models.Model):
    """One effective-dated version: valid from ``valid_from`` (inclusive) to ``valid_to`` (exclusive, open if null)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.PROTECT, related_name="versions")
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    body = models.JSONField(_("definition"))
    source = models.CharField(_("source"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    scope_public = True

    class Meta:
        verbose_name = _("tariff version")
        verbose_name_plural = _("tariff versions")
        ordering = ["tariff", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["tariff", "valid_from"], name="uniq_tariff_version_start"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gt=models.F("valid_from")),
                name="tariff_version_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tariff.code} {self.valid_from:%Y-%m-%d}–{self.valid_to or ''}"
