from django.utils.translation import gettext_lazy as _

from gridcare.web.menu import MenuItem

ITEMS = [
    MenuItem(
        _("Collection"), _("Cashier counter"), "ledger:counter", "payment.post", icon="cash-coin", order=400
    ),
    MenuItem(
        _("Collection"), _("Daily close"), "ledger:close", "payment.post", icon="journal-check", order=410
    ),
    MenuItem(
        _("Collection"), _("Payments"), "ledger:payment-list", "billing.view", icon="list-check", order=420
    ),
    MenuItem(
        _("Collection"),
        _("Dunning workbench"),
        "ledger:dunning",
        ("arrears.dun", "disconnection.approve"),
        icon="bell",
        order=425,
    ),
    MenuItem(
        _("Collection"),
        _("Payment plans"),
        "ledger:plans",
        "payment_plan.set",
        icon="calendar2-week",
        order=427,
    ),
    MenuItem(
        _("Collection"), _("Approvals"), "ledger:approvals", "payment.approve", icon="person-check", order=430
    ),
    MenuItem(
        _("Collection"),
        _("Channel reconciliation"),
        "ledger:reconcile",
        "payment.reconcile",
        icon="arrow-left-right",
        order=440,
    ),
    MenuItem(
        _("Collection"),
        _("Prepaid accounts"),
        "ledger:prepaid",
        "prepaid.manage",
        icon="lightning-charge",
        order=450,
    ),
    MenuItem(
        _("Collection"), _("Arrears aging"), "ledger:aging", "report.view", icon="hourglass-split", order=460
    ),
    MenuItem(
        _("Collection"),
        _("Electricity bill collection rate"),
        "ledger:collection",
        "report.view",
        icon="percent",
        order=470,
    ),
    MenuItem(
        _("Collection"),
        _("Cashier daily report"),
        "ledger:cashier-report",
        "report.view",
        icon="receipt",
        order=480,
    ),
    MenuItem(
        _("Collection"),
        _("Key-account bad-debt rate"),
        "ledger:bad-debt",
        "report.view",
        icon="graph-down",
        order=490,
    ),
]
