"""Deployment checks of gridcare's own security settings (``gridcare check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEMO_SECRET_KEY_PREFIX = "gridcare-demo-secret-key"


@register(Tags.security, deploy=True)
def check_secret_key_is_not_the_demo_one(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if str(settings.SECRET_KEY).startswith(DEMO_SECRET_KEY_PREFIX):
        return [
            Warning(
                "GRIDCARE_SECRET_KEY 仍是示例密钥。 (The secret key is the public demo key.)",
                hint="Set GRIDCARE_SECRET_KEY to a long random value.",
                id="gridcare.W001",
            )
        ]
    return []
