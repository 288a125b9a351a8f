"""Defaults of the customers app, in one place; a deployment overrides them in Django settings.

``GRIDCARE_CUSTOMERS = {"contract_expiry_days": 90}`` in settings replaces the default of that key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # 供用电合同到期提醒：合同到期前多少天列入到期清单
    "contract_expiry_days": 60,
    # 快速查询：每类匹配最多返回的户数；模糊（包含）匹配至少需要的字符数（PostgreSQL 三元组索引需 3 个字符）
    "search_limit": 20,
    "search_partial_min_chars": 3,
    # 户号 (10 digits), mobile (11) and meter numbers (13) typed in full are looked up by prefix only
    "search_partial_max_code_chars": 9,
    # 两部制：合同需量不得低于合同容量的比例 (docs/rules.md §2)
    "min_demand_ratio": "0.40",
    # 新开户号的前缀（户号 = 前缀 + 8 位顺序号）
    "account_number_prefix": "51",
    # 供电人（合同甲方）名称
    "supplier_name": "示范县供电公司",
}


def setting(name: str) -> Any:
    """A customers setting: the deployment's value if configured, else the default above."""
    overrides = getattr(settings, "GRIDCARE_CUSTOMERS", {}) or {}
    return overrides.get(name, DEFAULTS[name])
