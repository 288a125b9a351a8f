from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "gridcare.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from gridcare.core.ownership import register_owned
        from gridcare.org import checks  # noqa: F401  (registers the deployment checks)
        from gridcare.org.models import OrgUnit

        register_owned(OrgUnit, "head", label="unit head (机构负责人)")
