"""The key-accounts part of ``gridcare load_defaults``: the shipped key-account rules (大客户认定规则) and
credit-score rules (信用评价规则), editable as data afterwards (existing rules are left as they are)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def load(actor: Any) -> Iterator[str]:
    from gridcare.keyaccounts.actions import do_load_rule_defaults

    created = do_load_rule_defaults(actor)
    yield f"大客户认定规则 (key-account rules): 新增 {created} 条 (created {created})"
    from gridcare.keyaccounts.credit_actions import do_load_credit_rule_defaults

    versions = do_load_credit_rule_defaults(actor)
    yield f"信用评价规则 (credit-score rules): 新增 {versions} 版 (created {versions})"
