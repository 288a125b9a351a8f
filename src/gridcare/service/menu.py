from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

GROUP = _("Customer service")

ITEMS = [
    MenuItem(GROUP, _("Service desk"), "service:desk", "workorder.create", icon="headset", order=300),
    MenuItem(
        GROUP,
        _("Register a work order"),
        "service:order-create",
        "workorder.create",
        icon="telephone-plus",
        order=301,
    ),
    MenuItem(GROUP, _("My work orders"), "service:my-queue", "workorder.process", icon="tools", order=302),
    MenuItem(
        GROUP, _("Near breach"), "service:near-queue", "workorder.reassign", icon="hourglass-split", order=303
    ),
    MenuItem(GROUP, _("Overdue"), "service:overdue-queue", "workorder.reassign", icon="alarm", order=304),
    MenuItem(
        GROUP,
        _("Service dashboard"),
        "service:dashboard",
        "workorder.reassign",
        icon="speedometer2",
        order=305,
    ),
    MenuItem(
        GROUP,
        _("Monthly service reports"),
        "service:reports",
        "report.view",
        icon="file-earmark-bar-graph",
        order=306,
    ),
    MenuItem(GROUP, _("SLA policies"), "service:policy-list", "sla.view", icon="stopwatch", order=307),
    MenuItem(GROUP, _("Spare parts and tools"), "service:stock", "stock.view", icon="box-seam", order=308),
]
