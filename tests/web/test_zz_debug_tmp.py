import re

import pytest
from django.test import Client

from gridcare.org.models import User
from gridcare.tariffs.models import Tariff
from tests.web.test_no_raw_data import demo, visible_text  # noqa: F401


@pytest.mark.django_db
def test_dump(demo):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(User.objects.get(username="vp"))
    out = []
    for t in Tariff.objects.all()[:4]:
        out.append(visible_text(client.get(t.get_absolute_url()).content.decode()))
    for url in [
        "/system/audit/",
        "/service/orders/1/",
        "/service/policies/",
        "/org/positions/13/",
        "/metering/meters/45/",
    ]:
        out.append(url + visible_text(client.get(url).content.decode()))
    text = "\n=====\n".join(re.sub(r"\s*\n\s*", "\n", o) for o in out)
    open("/tmp/gdbg/out.txt", "w").write(text)
