"""Key-account classification (大客户认定): the rules as data applied to every account in one pass."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from gridcare.core import audit
from gridcare.core.access import get_in_scope
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.customers.models import Account, ServicePoint
from gridcare.keyaccounts.models import Grade, KeyAccount, KeyAccountRule
from gridcare.org.models import User

ZERO = Decimal(0)


def _rule_condition(rule: KeyAccountRule) -> Q:
    condition = Q()
    if rule.min_capacity_kva is not None:
        condition &= Q(capacity__gte=rule.min_capacity_kva)
    if rule.min_annual_kwh is not None:
        condition &= Q(annual_kwh__gte=rule.min_annual_kwh)
    if rule.customer_classes:
        # any service point of the account in one of the classes (行业/用电类别)
        condition &= Q(
            account_id__in=ServicePoint.objects.filter(customer_class__in=rule.customer_classes).values(
                "account_id"
            )
        )
    if rule.important_only:
        condition &= Q(important__gt=0)
    return condition


@action("keyaccounts.classify", permission="keyaccount.manage")
def do_classify_key_accounts(actor: User) -> dict[str, int]:
    """(Re)classify every active account by the enabled rules, set-based: one aggregate per rule over the
    accounts' service points (capacity, expected annual kWh, customer class, important flag); the first
    matching rule (by priority) gives the grade. Accounts designated by hand keep their designation; accounts
    no rule matches any more stop being key accounts. ``Account.is_key_account`` follows."""
    rules = list(KeyAccountRule.objects.filter(enabled=True).order_by("priority", "code"))
    if not rules:
        raise InvalidInput({"rules": "没有启用的大客户认定规则。 (No key-account rule is enabled.)"})
    points = (
        ServicePoint.objects.filter(account__status=Account.Status.ACTIVE)
        .values("account_id")
        .annotate(
            capacity=Coalesce(Sum("capacity_kva"), ZERO),
            annual_kwh=Coalesce(Sum("expected_monthly_kwh"), ZERO) * 12,
            important=Count("pk", filter=Q(is_important=True)),
        )
    )
    chosen: dict[int, tuple[KeyAccountRule, Decimal, Decimal]] = {}
    for rule in rules:
        for row in points.filter(_rule_condition(rule)).values("account_id", "capacity", "annual_kwh"):
            chosen.setdefault(row["account_id"], (rule, row["capacity"], row["annual_kwh"]))
    existing = {ka.account_id: ka for ka in KeyAccount.objects.select_for_update().order_by("pk")}
    created: list[KeyAccount] = []
    changed: list[KeyAccount] = []
    rows: list[dict[str, Any]] = []
    for account_id, (rule, capacity, kwh) in chosen.items():
        current = existing.get(account_id)
        if current is None:
            created.append(
                KeyAccount(
                    account_id=account_id, grade=rule.grade, rule=rule, capacity_kva=capacity, annual_kwh=kwh
                )
            )
            continue
        if current.manual:
            continue
        before = (current.grade, current.rule_id, current.active, current.capacity_kva, current.annual_kwh)
        current.grade, current.rule, current.active = rule.grade, rule, True
        current.capacity_kva, current.annual_kwh = capacity, kwh
        if before != (
            current.grade,
            current.rule_id,
            current.active,
            current.capacity_kva,
            current.annual_kwh,
        ):
            changed.append(current)
            rows.append(_row(current, {"grade": before[0], "rule": before[1], "active": before[2]}))
    dropped = [ka for aid, ka in existing.items() if aid not in chosen and ka.active and not ka.manual]
    for ka in dropped:
        ka.active = False
        changed.append(ka)
        rows.append(_row(ka, {"active": True}))
    KeyAccount.objects.bulk_create(created, batch_size=2000)
    KeyAccount.objects.bulk_update(
        changed, ["grade", "rule", "active", "capacity_kva", "annual_kwh"], batch_size=2000
    )
    for ka in created:
        rows.append(_row(ka, None))
    active_ids = KeyAccount.objects.filter(active=True).values("account_id")
    flagged = Account.objects.filter(pk__in=active_ids, is_key_account=False).update(is_key_account=True)
    unflagged = (
        Account.objects.filter(is_key_account=True).exclude(pk__in=active_ids).update(is_key_account=False)
    )
    summary = {
        "matched": len(chosen),
        "created": len(created),
        "changed": len(changed) - len(dropped),
        "dropped": len(dropped),
        "flagged": flagged,
        "unflagged": unflagged,
    }
    if rows:
        named = dict(  # the audit log names the account by its number and name, as every other row does
            (pk, f"{number} {name}")
            for pk, number, name in Account.objects.filter(pk__in={r["account"] for r in rows}).values_list(
                "pk", "number", "name"
            )
        )
        for entry in rows:
            entry["object_repr"] = named.get(entry.pop("account"), "")
        audit.bulk_record(actor, "keyaccounts.classify_account", rows)
    audit.record(
        actor, "keyaccounts.classify", object_type="keyaccounts.keyaccount", object_id="*", after=summary
    )
    return summary


def _row(ka: KeyAccount, before: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "object_type": "keyaccounts.keyaccount",
        "object_id": ka.pk or ka.account_id,
        "account": ka.account_id,  # named after, in one query for the batch
        "before": before,
        "after": {"grade": ka.grade, "rule": ka.rule_id, "active": ka.active},
    }


@action("keyaccounts.designate", permission="keyaccount.manage")
def do_designate_key_account(actor: User, account: Account | int, *, grade: str) -> KeyAccount:
    """Designate an account a key account by hand (or change its grade): classification leaves it as it is."""
    if grade not in Grade.values:
        raise InvalidInput({"grade": f"未知的重要等级「{grade}」。 (Unknown grade.)"})
    pk = account.pk if isinstance(account, Account) else account
    found = get_in_scope(Account.objects.all(), actor, write=True, pk=pk)
    ka, created = KeyAccount.objects.select_for_update().get_or_create(
        account=found, defaults={"grade": grade, "manual": True, "designated_on": timezone.localdate()}
    )
    before = None if created else audit.snapshot(ka, ["grade", "manual", "active"])
    ka.grade, ka.manual, ka.active = grade, True, True
    ka.save(update_fields=["grade", "manual", "active"])
    Account.objects.filter(pk=found.pk).update(is_key_account=True)
    audit.record(
        actor,
        "keyaccounts.designate",
        ka,
        before=before,
        after=audit.snapshot(ka, ["grade", "manual", "active"]),
    )
    return ka


#: (code, name, priority, grade, min kVA, min annual kWh, customer classes, important only)
DEFAULT_RULES: list[tuple[str, str, int, str, str | None, str | None, list[str], bool]] = [
    ("important-large", "重要用户（大工业）", 10, Grade.FIRST, "315", None, ["large_industry"], True),
    ("important", "重要用户", 20, Grade.SECOND, None, None, [], True),
    ("capacity-1000", "受电容量 1000 kVA 及以上", 30, Grade.GENERAL, "1000", None, [], False),
    ("kwh-1m", "年用电量 100 万 kWh 及以上", 40, Grade.GENERAL, None, "1000000", [], False),
]


@action("keyaccounts.load_rule_defaults", permission=None)
def do_load_rule_defaults(actor: User) -> int:
    """Create the shipped key-account rules that are missing (idempotent)."""
    existing = set(KeyAccountRule.objects.values_list("code", flat=True))
    created = [
        KeyAccountRule(
            code=code,
            name=name,
            priority=priority,
            grade=grade,
            min_capacity_kva=Decimal(kva) if kva else None,
            min_annual_kwh=Decimal(kwh) if kwh else None,
            customer_classes=classes,
            important_only=important,
        )
        for code, name, priority, grade, kva, kwh, classes, important in DEFAULT_RULES
        if code not in existing
    ]
    KeyAccountRule.objects.bulk_create(created)
    audit.record(
        actor,
        "keyaccounts.load_rule_defaults",
        object_type="keyaccounts.keyaccountrule",
        object_id="*",
        after={"created": [rule.code for rule in created]},
    )
    return len(created)
