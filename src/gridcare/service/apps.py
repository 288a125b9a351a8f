from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "gridcare.service"
    label = "service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from gridcare.core.ownership import register_owned
        from gridcare.service.models import OpenWorkOrder
        from gridcare.service.tasks import register_schedule

        # Only open orders move to a successor when their assignee leaves; archived ones keep who handled them.
        register_owned(OpenWorkOrder, "assignee", label="work-order assignee (工单处理人)")
        register_schedule()
