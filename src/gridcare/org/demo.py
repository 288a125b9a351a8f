"""Demo organisation: a county power supply company with every position staffed (one password for all)."""

from __future__ import annotations

from collections.abc import Iterator

from rest_framework.authtoken.models import Token

from gridcare.org import actions
from gridcare.org.models import OrgUnit, Position, User

DEMO_PASSWORD = "gridcare2026"

# (code, name, kind, parent code)
UNITS: list[tuple[str, str, str, str | None]] = [
    ("GC", "示范县供电公司", "company", None),
    ("YX", "营销服务部", "department", "GC"),
    ("KF", "客户服务中心", "centre", "YX"),
    ("KFB", "客服班", "team", "KF"),
    ("WX", "售后维修班", "team", "KF"),
    ("JL", "计量中心", "centre", "YX"),
    ("HS", "电费核算班", "team", "YX"),
    ("CB", "抄表班", "team", "YX"),
    ("SF", "收费班", "team", "YX"),
    ("DKH", "大客户室", "team", "YX"),
    ("JC", "营销稽查班", "team", "YX"),
    ("FH", "负荷管理班", "team", "YX"),
    ("SCB", "市场部", "department", "GC"),
    ("TZ", "市场拓展组", "team", "SCB"),
    ("XX", "信息运维班", "team", "GC"),
    ("CD", "城东县公司", "branch", "GC"),
    ("CG", "城关供电所", "station", "CD"),
    ("HX", "河西供电所", "station", "CD"),
    ("SN", "山南县公司", "branch", "GC"),
    ("SNS", "山南供电所", "station", "SN"),
]

# (username, full name, position code, unit code, heads unit)
STAFF: list[tuple[str, str, str, str, bool]] = [
    ("vp", "周国栋", "vp_marketing", "GC", True),
    ("manager", "王建华", "marketing_manager", "YX", True),
    ("cs_supervisor", "李秀英", "service_supervisor", "KF", True),
    ("cs_rep", "张晓燕", "service_rep", "KFB", False),
    ("repair", "刘志强", "repair_technician", "WX", False),
    ("key_account", "陈明", "key_account_manager", "DKH", True),
    ("sales", "杨帆", "market_specialist", "TZ", False),
    ("billing", "赵丽", "billing_accountant", "HS", True),
    ("reader", "黄勇", "meter_reader", "CB", False),
    ("collector", "吴芳", "collector", "CD", False),  # a county company's collector: its stations' accounts
    ("metering", "孙磊", "metering_engineer", "JL", True),
    ("auditor", "朱婷", "auditor", "JC", True),
    ("load", "胡军", "load_manager", "FH", True),
    ("market_manager", "郭静", "market_dept_manager", "SCB", True),
    ("admin", "林涛", "system_admin", "XX", True),
    ("cg_head", "何伟", "service_supervisor", "CG", True),
    ("cg_rep", "高敏", "station_rep", "CG", False),
    ("cg_reader", "马超", "meter_reader", "CG", False),
    ("hx_rep", "罗兰", "station_rep", "HX", False),
    ("sn_rep", "梁珊", "station_rep", "SNS", False),
    ("customer", "张大山", "customer", "CG", False),
    ("headend", "采集主站", "headend_integration", "FH", False),
    ("bank", "工商银行代收", "channel_integration", "SF", False),
]


#: positions of integration accounts (no screens; a token is issued when the demo creates them)
API_ONLY = ("headend_integration", "channel_integration")


def build(actor: User, scale: str) -> Iterator[str]:
    if OrgUnit.objects.filter(code="GC").exists():
        yield "org: demo organisation already present (use --reset to rebuild)"
    else:
        units: dict[str, OrgUnit] = {}
        for code, name, kind, parent in UNITS:
            units[code] = actions.do_create_unit(
                actor, code=code, name=name, kind=kind, parent=units.get(parent) if parent else None
            )
        positions = {p.code: p for p in Position.objects.all()}
        for index, (username, full_name, position, unit, heads) in enumerate(STAFF, start=1):
            staff = actions.do_create_staff(
                actor,
                username=username,
                password=DEMO_PASSWORD,
                full_name=full_name,
                position=positions[position],
                org_unit=units[unit],
                employee_no=f"GC{index:04d}",
                phone=f"139{index:08d}",
            )
            if heads:
                actions.do_update_unit(actor, units[unit], head=staff)
            if position in API_ONLY:  # an API-only account: its token, issued like a rotation
                actions.do_rotate_api_token(actor, staff)
        yield f"org: {len(UNITS)} units, {len(STAFF)} staff"
    yield ""
    yield f"Demo logins (password for all: {DEMO_PASSWORD}):"
    for username, full_name, position, unit, _heads in STAFF:
        yield f"  {username:<15} {full_name}  {Position.objects.get(code=position).name} @ {OrgUnit.objects.get(code=unit).name}"
    token = Token.objects.filter(user__username="headend").first()
    if token is not None:
        yield f"Head-end API token (采集系统接口, user headend): {token.key}  — `gridcare rotate_token headend` issues a new one"
