"""Demo customers of the demo county (示范县): every customer class, realistic names and addresses, spread over
the service stations 城关供电所 (CG, 城关镇), 河西供电所 (HX, 河西乡) and 山南供电所 (SNS, 山南镇).

Scales: small ≈ 2,000 accounts, medium ≈ 50,000, large ≈ 1,000,000. Every scale uses the bulk path
(:mod:`gridcare.customers.bulk`: COPY on PostgreSQL), one audited transaction per chunk of 10,000 accounts.
Key accounts (large industry and big commerce) are assigned to the demo key account manager (``key_account``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.customers.bulk import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    BulkWriter,
    deferred_search_indexes,
    insert_service_points,
)
from gridcare.customers.conf import setting
from gridcare.customers.importers import _sequence_start
from gridcare.customers.models import (
    Account,
    Contact,
    Customer,
    ServicePoint,
    SupplyContract,
)
from gridcare.customers.validators import credit_code_check_char, resident_id_check_char
from gridcare.metering.conf import rules
from gridcare.metering.rules import metering_class
from gridcare.org.models import OrgUnit, User

SCALES = {"small": 2_000, "medium": 50_000, "large": 1_000_000}
CHUNK = 10_000
SEARCH_INDEX_MIGRATIONS = ("gridcare.customers.migrations.0003_search_indexes",)
AREA_CODE = "511322"  # the demo county's administrative division code (used in IDs and credit codes)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强红梅玉兰文斌海燕春梅国庆德明桂芳丽华晓东小红永刚淑珍凤英家豪子涵欣怡浩然梓萱宇轩思远雨桐俊杰"
GIVEN_CHARS = list(dict.fromkeys(GIVEN))

# station code → (township, area class, streets/villages)
PLACES: dict[str, tuple[str, str, list[str]]] = {
    "CG": (
        "城关镇",
        "urban",
        [
            "幸福路",
            "人民路",
            "解放街",
            "建设路",
            "朝阳路",
            "文化路",
            "东门街",
            "西湖路",
            "东关社区",
            "南街村",
        ],
    ),
    "HX": ("河西乡", "rural", ["河西村", "柳树村", "杨家湾村", "李家庄村", "王家坝村", "石桥村", "新民村"]),
    "SNS": ("山南镇", "remote", ["山南村", "茶园村", "竹林村", "龙潭村", "松树坪村", "大坪村", "白岩村"]),
}
SHOPS = [
    "超市",
    "便利店",
    "餐馆",
    "农家乐",
    "五金店",
    "药店",
    "茶楼",
    "宾馆",
    "汽修厂",
    "加油站",
    "粮油店",
    "服装店",
]
FIRMS = [
    "水泥有限公司",
    "机械制造厂",
    "食品有限公司",
    "纺织有限公司",
    "建材有限公司",
    "化工有限公司",
    "铸造厂",
    "造纸厂",
]
FARMS = ["农业专业合作社", "茶叶合作社", "养殖场", "果蔬基地", "排灌站"]
BRANDS = ["兴旺", "宏达", "永盛", "鑫源", "华丰", "金山", "龙腾", "顺发", "福源", "新华", "长青", "嘉禾"]


@dataclass(frozen=True)
class Profile:
    """What one demo account looks like (class, voltage, capacity, tariff...)."""

    customer_class: str
    sub_class: str
    kind: str
    voltage: str
    capacity: int
    demand: int | None
    energy: int
    tariff: str
    pf: str
    important: bool
    key: bool


def _profile(rng: random.Random, station: str) -> Profile:
    roll = rng.random()
    if roll < 0.85:
        sub = "城镇居民" if station == "CG" else "乡村居民"
        return Profile(
            "residential",
            sub,
            "individual",
            "220V",
            rng.choice((4, 6, 8, 10)),
            None,
            rng.randint(60, 450),
            "CN-ZJ-RES-TIERED",
            "none",
            False,
            False,
        )
    if roll < 0.95:
        capacity = rng.choice((20, 30, 50, 80, 100, 160, 200, 250))
        return Profile(
            "commercial",
            rng.choice(("商业", "非工业", "普通工业")),
            "organisation",
            "380V",
            capacity,
            None,
            capacity * rng.randint(80, 250),
            "CN-SH-GIC-TOU",
            "0.85" if capacity >= 100 else "none",
            False,
            capacity >= 200,
        )
    if roll < 0.98:
        capacity = rng.choice((10, 20, 30, 50, 80, 100, 125))
        return Profile(
            "agriculture",
            rng.choice(("农业生产", "农业排灌")),
            "organisation",
            "380V",
            capacity,
            None,
            capacity * rng.randint(50, 200),
            "CN-ZJ-AGR",
            "0.80" if capacity >= 100 else "none",
            False,
            False,
        )
    capacity = rng.choice((315, 400, 630, 800, 1000, 1250, 2000, 2500, 3150, 5000, 12500))
    return Profile(
        "large_industry",
        "大工业",
        "organisation",
        "10kV",
        capacity,
        int(capacity * 0.6),
        capacity * rng.randint(150, 450),
        "CN-LI-2PART-TOU",
        "0.90",
        capacity >= 2000,
        True,
    )


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))


def _resident_id(rng: random.Random, serial: int) -> str:
    """A valid resident ID, distinct for every serial below 1,000,000 (birth dates spread over 60 years)."""
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=(serial // 1000) * 22 % 22_000)
    first17 = f"{AREA_CODE}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def _credit_code(serial: int) -> str:
    first17 = f"91{AREA_CODE}{serial:09d}"
    return first17 + credit_code_check_char(first17)


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randint(0, 999_999_999):09d}"


def _address(rng: random.Random, station: str) -> str:
    town, _area, places = PLACES[station]
    place = rng.choice(places)
    if place.endswith(("村", "社区")):
        return f"{town}{place}{rng.randint(1, 12)}组{rng.randint(1, 200)}号"
    return f"{town}{place}{rng.randint(1, 400)}号"


def _name(rng: random.Random, profile: Profile, station: str) -> str:
    town = PLACES[station][0]
    if profile.kind == "individual":
        return _person(rng)
    if profile.customer_class == "large_industry":
        return f"示范县{rng.choice(BRANDS)}{rng.choice(FIRMS)}"
    if profile.customer_class == "agriculture":
        return f"{town}{rng.choice(BRANDS)}{rng.choice(FARMS)}"
    return f"{town}{rng.choice(BRANDS)}{rng.choice(SHOPS)}"


@action("customers.demo_chunk", permission=None)
def do_load_demo_chunk(actor: User, *, start: int, count: int, seed: int, context: dict[str, Any]) -> int:
    """Write ``count`` demo accounts (customer, contact, account, service point, periods, contract) in bulk."""
    rng = random.Random(seed)
    writer = BulkWriter()
    writer.trust_generated_references()
    now = timezone.now()
    today = timezone.localdate()
    metering_rules = rules()
    stations: dict[str, OrgUnit] = context["stations"]
    codes = list(stations)
    manager_id = context["manager_id"]
    customer_ids = writer.reserve_ids(Customer, count)
    contact_ids = writer.reserve_ids(Contact, count)
    account_ids = writer.reserve_ids(Account, count)
    customers, contacts, accounts, points = [], [], [], []
    tariffs, capacities, demands, classes, contracts = [], [], [], [], []
    points_count = 0
    for index in range(count):
        serial = start + index
        station = codes[index % len(codes)]
        unit_id = stations[station].pk
        profile = _profile(rng, station)
        name = _name(rng, profile, station)
        id_type = "resident_id" if profile.kind == "individual" else "credit_code"
        id_number = _resident_id(rng, serial) if id_type == "resident_id" else _credit_code(serial)
        customer_id, account_id = customer_ids[index], account_ids[index]
        customers.append(
            (
                customer_id,
                f"KH{context['customer_seq'] + index:010d}",
                profile.kind,
                name,
                id_type,
                id_number,
                unit_id,
                "",
                now,
            )
        )
        contact_name = name if profile.kind == "individual" else _person(rng)
        contacts.append(
            (
                contact_ids[index],
                customer_id,
                contact_name,
                _mobile(rng),
                "" if profile.kind == "individual" else "电工",
                True,
            )
        )
        account_number = f"{context['account_prefix']}{context['account_seq'] + index:08d}"
        opened = today - dt.timedelta(days=rng.randint(30, 3650))
        accounts.append(
            (
                account_id,
                account_number,
                customer_id,
                name,
                unit_id,
                "monthly",
                rng.choice(("counter", "bank_deduction", "online", "online", "prepaid"))
                if profile.kind == "individual"
                else "bank_deduction",
                profile.key,
                manager_id if profile.key else None,
                rng.choice("AAABBC") if profile.key else "A",
                "active",
                opened,
            )
        )
        for point_index in range(
            2 if profile.customer_class == "large_industry" and rng.random() < 0.3 else 1
        ):
            points.append(
                (
                    account_number,
                    point_index,
                    account_id,
                    _address(rng, station),
                    unit_id,
                    profile,
                    opened,
                    station,
                )
            )
            points_count += 1
        if profile.kind == "organisation":
            valid_to = today + dt.timedelta(days=rng.randint(-30, 1500))
            contracts.append(
                (
                    f"GDHT{account_number}",
                    account_id,
                    str(setting("supplier_name")),
                    name,
                    opened,
                    opened,
                    max(valid_to, opened + dt.timedelta(days=1)),
                    profile.capacity,
                    profile.demand,
                    "active",
                )
            )
    point_ids = writer.reserve_ids(ServicePoint, points_count)
    point_rows = []
    for (
        account_number,
        point_index,
        account_id,
        address,
        unit_id,
        profile,
        opened,
        station,
    ), point_id in zip(points, point_ids, strict=True):
        phases = 1 if profile.voltage == "220V" else 3
        klass = metering_class(Decimal(profile.energy), Decimal(profile.capacity), phases, metering_rules)
        area = PLACES[station][1]
        point_rows.append(
            (
                point_id,
                f"{account_number}{point_index + 1:02d}",
                account_id,
                address,
                unit_id,
                profile.voltage,
                profile.customer_class,
                profile.sub_class,
                profile.pf,
                area,
                profile.important,
                profile.tariff,
                profile.capacity,
                profile.demand,
                profile.energy,
                klass,
            )
        )
        tariffs.append((point_id, opened, None, now, profile.tariff))
        capacities.append((point_id, opened, None, now, profile.capacity))
        if profile.demand is not None:
            demands.append((point_id, opened, None, now, profile.demand))
        classes.append((point_id, opened, None, now, profile.customer_class, profile.sub_class))
    writer.insert(
        Customer,
        CUSTOMER_COLUMNS,
        customers,
    )
    writer.insert(Contact, CONTACT_COLUMNS, contacts)
    writer.insert(
        Account,
        ACCOUNT_COLUMNS,
        accounts,
    )
    insert_service_points(
        writer,
        point_rows,
        tariffs=tariffs,
        capacities=capacities,
        demands=demands,
        classes=classes,
    )
    writer.insert(
        SupplyContract,
        [
            "number",
            "account_id",
            "supplier_name",
            "customer_name",
            "signed_on",
            "valid_from",
            "valid_to",
            "capacity_kva",
            "contracted_demand_kw",
            "status",
        ],
        contracts,
    )
    audit.record(
        actor,
        "customers.demo_chunk",
        object_type="customers.account",
        object_id=f"{account_ids[0]}-{account_ids[-1]}",
        object_repr=f"demo accounts {accounts[0][1]}–{accounts[-1][1]}",
        after={"accounts": count, "service_points": points_count, "contracts": len(contracts)},
    )
    return points_count


def build(actor: User, scale: str) -> Iterator[str]:
    stations = {code: OrgUnit.objects.filter(code=code).first() for code in PLACES}
    if any(unit is None for unit in stations.values()):
        yield "customers: demo stations CG/HX/SNS missing — skipped"
        return
    if Customer.objects.filter(number__startswith="KH").exists():
        yield "customers: demo customers already present (use --reset to rebuild)"
        return
    manager = User.objects.filter(username="key_account").first()
    total = SCALES[scale]
    context: dict[str, Any] = {
        "stations": stations,
        "manager_id": manager.pk if manager else None,
        "customer_seq": _sequence_start(Customer, "KH", 10),
        "account_prefix": str(setting("account_number_prefix")),
        "account_seq": _sequence_start(Account, str(setting("account_number_prefix")), 8),
    }
    points = 0
    deferred = deferred_search_indexes(*SEARCH_INDEX_MIGRATIONS) if total >= 100_000 else nullcontext()
    with deferred:
        for start in range(0, total, CHUNK):
            count = min(CHUNK, total - start)
            points += do_load_demo_chunk(
                actor,
                start=start,
                count=count,
                seed=start + 2026,
                context={
                    **context,
                    "customer_seq": context["customer_seq"] + start,
                    "account_seq": context["account_seq"] + start,
                },
            )
            if total > CHUNK and (start // CHUNK) % 10 == 9:
                yield f"customers: {start + count:,} / {total:,} accounts"
    key_accounts = Account.objects.filter(is_key_account=True).count()
    yield f"customers: {total:,} accounts, {points:,} service points, {key_accounts:,} key accounts (manager: key_account)"
