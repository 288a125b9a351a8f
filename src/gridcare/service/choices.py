"""Vocabulary of the customer service desk (95598 工单): types, sub-types, statuses and the state machine.

The state machine is data (:data:`TRANSITIONS`): each action names the statuses it may start from and the
status it leads to, so an invalid request is answered with the allowed actions (409).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrderType(models.TextChoices):
    REPAIR = "repair", _("Fault repair")  # 故障报修
    COMPLAINT = "complaint", _("Complaint")  # 投诉
    REPORT = "report", _("Report (whistle-blowing)")  # 举报
    OPINION = "opinion", _("Opinion")  # 意见
    SUGGESTION = "suggestion", _("Suggestion")  # 建议
    PRAISE = "praise", _("Praise")  # 表扬
    ENQUIRY = "enquiry", _("Enquiry")  # 咨询
    APPLICATION = "application", _("Service application")  # 服务申请


class SubType(models.TextChoices):
    # complaint classes (投诉分类)
    SERVICE = "service", _("Service")  # 服务
    BUSINESS = "business", _("Business handling")  # 营业
    OUTAGE = "outage", _("Outage and restoration")  # 停送电
    POWER_QUALITY = "power_quality", _("Power quality")  # 供电质量
    GRID_CONSTRUCTION = "grid_construction", _("Grid construction")  # 电网建设
    # service applications (服务申请)
    RECONNECTION = "reconnection", _("Reconnection after payment")  # 复电
    DISCONNECTION = "disconnection", _("Disconnection for arrears")  # 欠费停电
    APPLIANCE_DAMAGE = "appliance_damage", _("Appliance damage")  # 家电损坏
    METER_FAULT = "meter_fault", _("Meter fault")  # 计量故障
    READING_ANOMALY = "reading_anomaly", _("Reading data anomaly")  # 抄表数据异常
    METER_TEST = "meter_test", _("Meter test")  # 校表（计量检定）
    OTHER = "other", _("Other")  # 其他


#: Sub-types each type requires (types not listed take none).
SUB_TYPES: dict[str, tuple[str, ...]] = {
    OrderType.COMPLAINT: (
        SubType.SERVICE,
        SubType.BUSINESS,
        SubType.OUTAGE,
        SubType.POWER_QUALITY,
        SubType.GRID_CONSTRUCTION,
    ),
    OrderType.APPLICATION: (
        SubType.RECONNECTION,
        SubType.DISCONNECTION,
        SubType.APPLIANCE_DAMAGE,
        SubType.METER_FAULT,
        SubType.READING_ANOMALY,
        SubType.METER_TEST,
        SubType.OTHER,
    ),
}

#: Types that may be registered without a customer (anonymous enquiries, reports, opinions, outage calls).
ANONYMOUS_ALLOWED = {
    OrderType.ENQUIRY,
    OrderType.REPORT,
    OrderType.OPINION,
    OrderType.SUGGESTION,
    OrderType.PRAISE,
    OrderType.REPAIR,
}


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone (95598)")
    COUNTER = "counter", pgettext_lazy("service channel", "Counter")  # 营业厅, not the payment desk
    API = "api", _("API")
    PORTAL = "portal", _("Customer portal")
    ONSITE = "onsite", _("Reported on site")


class Status(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")  # 受理
    DISPATCHED = "dispatched", _("Dispatched")  # 派发
    TAKEN = "taken", _("Taken")  # 接单
    PROCESSING = "processing", _("Processing")  # 处理中
    SUSPENDED = "suspended", pgettext_lazy("work order", "Suspended")  # 挂起, not an account's 暂停
    WAITING = "waiting", _("Waiting for customer")  # 待客户
    RETURNED = "returned", _("Returned")  # 回单
    CALLED_BACK = "called_back", _("Called back")  # 回访
    ARCHIVED = "archived", _("Archived")  # 归档


OPEN_STATUSES = tuple(s for s in Status.values if s != Status.ARCHIVED)
PAUSED_STATUSES = (Status.SUSPENDED, Status.WAITING)
#: Statuses in which an order is with a handler (for "in hand" and backlog counts).
ACTIVE_STATUSES = (Status.ACCEPTED, Status.DISPATCHED, Status.TAKEN, Status.PROCESSING, *PAUSED_STATUSES)


class SLAState(models.TextChoices):
    """How an open order stands against its service commitments (kept on the order for lists and filters)."""

    OK = "ok", _("On time")
    WARNING = "warning", _("Near breach")
    BREACHED = "breached", _("Overdue")


class Milestone(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First contact")  # 首次联系客户
    ARRIVAL = "arrival", _("Arrival on site")  # 到达现场
    RESTORATION = "restoration", _("Restoration")  # 恢复送电
    ANSWER = "answer", _("Answer")  # 答复 / 办结（回单）
    CALLBACK = "callback", _("Callback")  # 回访


#: The event each milestone's clock starts from.
MILESTONE_START: dict[str, str] = {
    Milestone.FIRST_RESPONSE: "intake",
    Milestone.ARRIVAL: "intake",
    Milestone.ANSWER: "intake",
    Milestone.RESTORATION: "arrival",
    Milestone.CALLBACK: "returned",
}


class ClockKind(models.TextChoices):
    ELAPSED = "elapsed", _("Elapsed minutes")
    WORKING = "working", _("Working days")


class Cause(models.TextChoices):
    """Cause classes (原因分类) recorded at 回单, for the complaint and repair statistics."""

    STAFF_CONDUCT = "staff_conduct", _("Staff conduct")  # 服务态度/行为
    BUSINESS_PROCESS = "business_process", _("Business process")  # 业务办理
    BILLING = "billing", _("Billing and charges")  # 电费电价
    OUTAGE = "outage", _("Outage")  # 停电
    POWER_QUALITY = "power_quality", _("Voltage / power quality")  # 电压质量
    CONSTRUCTION = "construction", _("Grid construction")  # 工程建设
    METERING = "metering", pgettext_lazy("order sub-type", "Metering")  # 计量, not the 计量管理 menu
    LINE_FAULT = "line_fault", _("Line fault")  # 线路故障
    EQUIPMENT_FAULT = "equipment_fault", _("Equipment fault")  # 设备故障
    CUSTOMER_SIDE = "customer_side", _("Customer-side fault")  # 客户内部故障
    EXTERNAL_DAMAGE = "external_damage", _("External damage")  # 外力破坏
    WEATHER = "weather", _("Weather")  # 天气原因
    OTHER = "other", _("Other")  # 其他


class Transition(models.TextChoices):
    """Actions on a work order; :data:`TRANSITIONS` says where each may start and where it leads."""

    CREATE = "create", _("Register")  # 受理
    DISPATCH = "dispatch", _("Dispatch")  # 派发
    REASSIGN = "reassign", _("Reassign")  # 改派
    TAKE = "take", _("Take")  # 接单
    START = "start", _("Start processing")  # 开始处理
    ARRIVE = "arrive", _("Arrive on site")  # 到达现场
    RESTORE = "restore", _("Restore supply")  # 恢复送电
    CONTACT = "contact", _("Contact customer")  # 联系客户
    SUSPEND = "suspend", _("Suspend")  # 挂起
    WAIT_CUSTOMER = "wait_customer", _("Wait for customer")  # 待客户
    RESUME = "resume", _("Resume")  # 恢复处理
    REPLY = "reply", _("Return (reply)")  # 回单
    CALLBACK = "callback", _("Call back")  # 回访
    ARCHIVE = "archive", _("Archive")  # 归档
    REOPEN = "reopen", _("Reopen")  # 重新处理
    ESCALATE = "escalate", _("Escalate")  # 升级
    LINK = "link", _("Linked to master")  # 并单（重复来电）


S = Status
_WORKING = (S.DISPATCHED, S.TAKEN, S.PROCESSING)
#: action → (statuses it may start from, resulting status; ``None`` keeps the status, "resume" goes back).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    Transition.DISPATCH: ((S.ACCEPTED,), S.DISPATCHED),
    Transition.REASSIGN: ((S.DISPATCHED, S.TAKEN, S.PROCESSING, *PAUSED_STATUSES), S.DISPATCHED),
    Transition.TAKE: ((S.DISPATCHED,), S.TAKEN),
    Transition.START: ((S.TAKEN,), S.PROCESSING),
    Transition.ARRIVE: ((S.TAKEN, S.PROCESSING), S.PROCESSING),
    Transition.RESTORE: ((S.PROCESSING,), None),
    Transition.CONTACT: ((S.ACCEPTED, *_WORKING, *PAUSED_STATUSES), None),
    Transition.SUSPEND: (_WORKING, S.SUSPENDED),
    Transition.WAIT_CUSTOMER: ((S.TAKEN, S.PROCESSING), S.WAITING),
    Transition.RESUME: (PAUSED_STATUSES, None),
    Transition.REPLY: ((S.ACCEPTED, S.PROCESSING), S.RETURNED),
    Transition.CALLBACK: ((S.RETURNED,), S.CALLED_BACK),
    Transition.ARCHIVE: ((S.RETURNED, S.CALLED_BACK), S.ARCHIVED),
    Transition.REOPEN: ((S.RETURNED, S.CALLED_BACK, S.ARCHIVED), S.DISPATCHED),
    Transition.ESCALATE: (OPEN_STATUSES, None),
}


#: The status a newly registered order starts in (受理); a call linked to a master stays there.
INITIAL_STATUS: str = S.ACCEPTED


def target_status(transition: str, status: str, paused_from: str = "") -> str:
    """The status ``transition`` leads to from ``status``, as :data:`TRANSITIONS` says: its target, or the
    same status when the target is ``None``, and for "resume" the status the order was paused from
    (processing when that is unknown). Every action takes its resulting status from here."""
    _sources, target = TRANSITIONS[transition]
    if target is not None:
        return target
    if transition == Transition.RESUME:
        return paused_from or S.PROCESSING
    return status


def allowed_transitions(status: str) -> list[str]:
    """The actions the state machine allows from ``status`` (permissions are checked separately)."""
    return [code for code, (sources, _target) in TRANSITIONS.items() if status in sources]
