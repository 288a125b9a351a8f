"""Screenshots of each position's day in gridcare (docs/days.md), made by driving the real UI.

    .venv/bin/python docs/screenshots.py [--scale small] [--only NAME …] [--out DIR] [--keep]

Builds a throwaway demo utility (SQLite in a temporary directory, ``gridcare demo``), serves it with ``gridcare
serve`` on a free port, and with Playwright on Debian's Chromium logs in as each position and walks its day by
clicking through the menu, the lists and the forms, as a person would. Every step waits for the element it needs;
a missing one stops that position's walk, names the step and makes the exit status non-zero, so a broken flow is
noticed. Each step writes ``docs/img/<position>-<step>.png`` (viewport-sized, 1440×900; the phone at 390 px).

Not a test: it lives outside ``tests/`` (pytest's ``testpaths``) and is run by hand after screens change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--lang=zh-CN",  # the browser's own language (Windows, macOS); on Linux it comes from LANGUAGE below
]
#: On Linux Chromium takes its own language from the environment (and needs Debian's chromium-l10n): date inputs
#: then read 年/月/日 (yyyy/mm/dd) as on a Chinese user's machine, not mm/dd/yyyy.
BROWSER_ENV = {**os.environ, "LANGUAGE": "zh_CN:zh"}
#: What a Chinese user's browser reports and sends (the context's locale alone leaves the UI language English).
LOCALE = "zh-CN"
ACCEPT_LANGUAGE = {"Accept-Language": "zh-CN,zh;q=0.9"}
PASSWORD = "gridcare2026"
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 20_000
FACTS = {"phone", "station_account"}
APPLIANCE_CALL = "雷雨后家中电视机损坏，申请上门检查"


@dataclass
class Demo:
    """The running throwaway demo: its address and what the walks look up in it."""

    url: str
    facts: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- the demo server


def environment(var_dir: Path) -> dict[str, str]:
    """This checkout's source first, a private var directory, the embedded SQLite database (never a shared one)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "GRIDCARE_DEBUG"}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    env["GRIDCARE_VAR_DIR"] = str(var_dir)
    env.setdefault("GRIDCARE_NODE_MODULES", str(ROOT / "node_modules"))
    return env


def gridcare(env: dict[str, str], *args: str) -> str:
    """Run one ``gridcare`` command to its end; its output, or a clear failure."""
    done = subprocess.run(
        [sys.executable, "-m", "gridcare.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"gridcare {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[str]:
    """``gridcare serve`` on a free port until the walks are done, its messages in ``log``; its address."""
    port = free_port()
    command = [sys.executable, "-m", "gridcare.cli", "serve", "--port", str(port), "--workers", "1"]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*command, "--no-access-log"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/login/", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gridcare serve did not start: see {log}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def look_up(env: dict[str, str]) -> dict[str, str]:
    """What a caller would know and the demo made up: the phone number of a station customer (the hotline finds
    them by it) and the 户号 of another (the station desk's customer)."""
    script = (
        "from gridcare.customers.models import Contact\n"
        "callers = Contact.objects.filter(is_primary=True, customer__org_unit__code='CG', "
        "customer__kind='individual').exclude(mobile='').order_by('customer__number')\n"
        "print('phone', callers[0].mobile)\n"
        "print('station_account', callers[1].customer.accounts.order_by('number')[0].number)\n"
    )
    facts = {}
    for line in gridcare(env, "shell", "-c", script).splitlines():
        key, _, value = line.partition(" ")
        if key in FACTS:
            facts[key] = value.strip()
    if set(facts) != FACTS:
        raise SystemExit(f"the demo has no station customer with a phone number: {facts}")
    return facts


def optimise(path: Path) -> int:
    """Screens are flat colours and text: a 256-colour palette keeps them sharp at a third of the size (Pillow
    comes with reportlab). The new size in bytes."""
    from PIL import Image

    with Image.open(path) as shot:
        palette = shot.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    palette.save(path, optimize=True)
    return path.stat().st_size


# ------------------------------------------------------------------------------------------------- the walks


class Day:
    """One position's walk: a signed-in page, the current step's name, and a screenshot per step."""

    def __init__(self, page: Page, demo: Demo, position: str, out: Path) -> None:
        self.page = page
        self.demo = demo
        self.position = position
        self.out = out
        self.step = "login"

    def login(self, username: str) -> None:
        self.page.goto(f"{self.demo.url}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("#login-form button[type=submit]")
        self.see("#workbench-title")
        self.step = "workbench"

    def see(self, selector: str, text: str | None = None) -> None:
        """Wait for an element (and its text); the walk's one way of noticing a broken screen."""
        locator = self.page.locator(selector).first
        expect(locator).to_be_visible(timeout=WAIT_MS)
        if text is not None:
            expect(locator).to_contain_text(text, timeout=WAIT_MS)

    def menu(self, name: str) -> None:
        """Click a menu entry (``data-menu`` = its URL name) as a person would, and wait for the page."""
        self.page.click(f'#menu a[data-menu="{name}"]')
        self.page.wait_for_load_state("load")

    def shot(self, step: str, *, focus: str | None = None) -> None:
        """``<position>-<step>.png`` of the viewport (never an endless full page), scrolled so ``focus`` is near
        the top when given."""
        self.step = step
        self.page.wait_for_load_state("load")
        if focus:
            self.see(focus)
            # a little space above it, so the block before it shows where we are
            self.page.locator(focus).first.evaluate(
                "e => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 70)"
            )
        else:
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.wait_for_timeout(250)  # fonts and htmx swaps settle
        path = self.out / f"{self.position}-{step}.png"
        self.page.screenshot(path=str(path), type="png", scale="css")
        print(f"  {path.name} ({optimise(path) // 1024} KB)")

    def charts(self) -> None:
        """Wait until the dashboard's charts are drawn and their entry animation is over."""
        expect(self.page.locator("#dashboard-figures")).to_have_attribute(
            "data-charts-ready", "1", timeout=WAIT_MS
        )
        self.page.wait_for_timeout(1500)

    def choose(self, selector: str, label_part: str) -> None:
        """Pick the option of a select whose text contains ``label_part`` (names carry their unit or position)."""
        select = self.page.locator(selector)
        expect(select.locator("option", has_text=label_part).first).to_be_attached(timeout=WAIT_MS)
        value = select.locator("option", has_text=label_part).first.get_attribute("value")
        select.select_option(value or "")

    def search_pick(self, selector: str, text: str) -> None:
        """Type into a searchable select (``data-autocomplete``, Tom Select) and pick the first match."""
        self.page.locator(f"{selector} + .ts-wrapper .ts-control").click()
        self.page.keyboard.type(text)
        option = self.page.locator(".ts-dropdown .option", has_text=text).first
        expect(option).to_be_visible(timeout=WAIT_MS)
        option.click()

    def order_step(self, code: str, **fields: str) -> None:
        """Fill and submit one step form of the order page (``data-step`` = the transition), as the desk does."""
        form = self.page.locator(f'form[data-step="{code}"]')
        expect(form).to_be_visible(timeout=WAIT_MS)
        for name, value in fields.items():
            control = form.locator(f'[name="{name}"]')
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        form.locator("button[type=submit]").first.click()
        self.page.wait_for_load_state("load")
        expect(self.page.locator(".alert-danger")).to_have_count(0)

    def pick_caller(self) -> None:
        """On the intake form: type the caller's number and pick them from the suggestions (a single match is
        picked by itself); their panel (open orders, recent calls) appears beside the form."""
        self.page.fill("#id_lookup", self.demo.facts["phone"])
        suggestion = self.page.locator("#intake-suggestions [data-pick]").first
        card = self.page.locator("#caller-card")
        expect(suggestion.or_(card)).to_be_visible(timeout=WAIT_MS)
        if not card.is_visible():
            suggestion.click()
        self.see("#caller-card")

    def doing(self, step: str) -> Day:
        """Name the step about to be walked, so a failure says where it happened."""
        self.step = step
        return self


def manager(day: Day) -> None:
    day.login("manager")
    day.see("#kpis")
    day.see("#approvals")
    day.shot("workbench")
    day.doing("kpi-records").page.click('#kpis tr[data-kpi="complaint_rate"] a >> nth=-1')
    day.see("#result-table")
    day.shot("kpi-records")
    day.doing("dashboard").menu("service:dashboard")
    day.charts()
    day.shot("dashboard")


def cs_rep(day: Day) -> None:
    """The hotline: a caller's number finds the customer, a complaint is registered and a compensation proposed
    (the supervisor approves it in the next walk); a second call asks for an appliance-damage check."""
    page = day.page
    day.login("cs_rep")
    day.shot("workbench")
    day.doing("search").menu("customers:search")
    page.fill("#search-q", day.demo.facts["phone"])
    day.see("#search-table tbody a")
    day.shot("search")
    day.doing("customer").page.click("#search-table tbody a")
    day.see("#customer-name")
    day.see("#customer-tabs")
    day.shot("customer")
    day.doing("intake").menu("service:order-create")
    day.see("#action-form")
    day.pick_caller()
    page.select_option("#id_order_type", "complaint")
    page.select_option("#id_sub_type", "service")
    page.fill("#id_title", "抄表员未按约定时间上门")
    page.fill("#id_description", "客户来电反映：约定上午抄表核对，等候半天无人上门，要求答复并道歉。")
    day.shot("intake")
    day.doing("order").page.click("#action-form button[type=submit]")
    day.see("#order-title", "投诉")
    day.see("#clocks")
    day.shot("order")
    day.doing("compensation")
    form = page.locator("#compensations form").last
    form.locator('[name="amount"]').fill("50")
    form.locator('[name="reason"]').fill("上门服务爽约，按服务承诺补偿")
    page.click("#propose-compensation")
    day.see("#compensations [data-compensation]", "50")
    day.shot("compensation", focus="#compensations")
    day.doing("second-call").menu("service:order-create")  # the supervisor sends it to the repair team
    day.pick_caller()
    day.see("#caller-open-orders", "投诉")  # the complaint of an hour ago is still open
    page.select_option("#id_order_type", "application")
    page.select_option("#id_sub_type", "appliance_damage")
    page.fill("#id_title", APPLIANCE_CALL)
    day.shot("second-call")
    page.click("#action-form button[type=submit]")
    day.see("#order-title", "家电损坏")


def cs_supervisor(day: Day) -> None:
    page = day.page
    day.login("cs_supervisor")
    day.see("#approvals a")
    day.shot("workbench")
    day.doing("desk").menu("service:desk")
    day.see("#queue-tabs")
    day.see("#result-table")
    day.shot("desk")
    day.doing("overdue").page.click('#queue-tabs a[href$="/overdue/"]')
    day.see("#result-table tbody a")
    day.shot("overdue")
    day.doing("dashboard").menu("service:dashboard")
    day.charts()
    day.shot("dashboard")
    day.doing("approval").page.goto(f"{day.demo.url}/")
    page.click("#approvals a")
    day.see("#compensations [id^=approve-]")
    day.shot("approval", focus="#compensations")
    day.doing("approved").page.click("#compensations [id^=approve-]")
    day.see("#compensations .text-bg-success")
    day.shot("approved", focus="#compensations")
    day.doing("dispatch").menu("service:desk")
    page.click(f'#result-table tbody tr:has-text("{APPLIANCE_CALL}") a')
    day.see("#order-title", "家电损坏")
    day.choose('form[data-step="reassign"] [name="queue_unit"]', "售后维修班")
    day.choose('form[data-step="reassign"] [name="assignee"]', "刘志强")
    page.fill('form[data-step="reassign"] [name="reason"]', "派工：上门检查家电损坏")
    page.click('form[data-step="reassign"] button[type=submit]')
    day.see("#order-assignee", "刘志强")
    day.shot("dispatch")


def cg_rep(day: Day) -> None:
    page = day.page
    day.login("cg_rep")
    day.shot("workbench")
    day.doing("customers").menu("customers:search")
    page.fill("#search-q", day.demo.facts["station_account"])
    day.see("#search-table tbody a")
    page.click("#search-table tbody a")
    day.see("#customer-name")
    day.shot("customer")
    day.doing("customer-orders").page.click('#customer-tabs a[href$="tab=work-orders"]')
    day.see("#customer-work-orders")
    day.shot("customer-orders")


def repair(day: Day) -> None:
    """The technician takes the order the supervisor sent, goes on site and fills the repair record (维修记录单)."""
    page = day.page
    day.login("repair")
    day.see("#todos a[href*='/service/orders/']")
    day.shot("workbench")
    day.doing("my-orders").menu("service:my-queue")
    day.see("#result-table tbody a")
    day.shot("my-orders")
    day.doing("order").page.click("#result-table tbody a >> nth=0")
    day.see("#order-title", "家电损坏")
    day.order_step("take")
    day.order_step("arrive")
    day.see("#order-status")
    day.shot("order")
    day.doing("repair-record")
    record = page.locator('form[data-step="repair"]')
    record.locator('[name="cause"]').select_option("weather")
    record.locator('[name="fault"]').fill("雷击过电压损坏电视机电源板，户内漏电保护器未动作")
    record.locator('[name="work_done"]').fill("检查户内线路正常，出具损坏鉴定，建议加装电涌保护器")
    record.locator("button[type=submit]").click()
    day.see("#after-sales", "雷击")
    day.shot("repair-record", focus="#clocks")
    day.doing("reply").order_step("reply", result="已上门检查并出具家电损坏鉴定，客户认可", cause="weather")
    day.see("#order-status", "已回单")
    day.shot("reply")


def billing(day: Day) -> None:
    page = day.page
    day.login("billing")
    day.shot("workbench")
    day.doing("tariffs").menu("tariffs:tariff-list")
    day.see("#result-table tbody a")
    day.shot("tariffs")
    day.doing("tariff").page.click('#result-table tbody a:has-text("居民")')
    day.see("#quote-link")
    day.shot("tariff")
    day.doing("quote").page.click("#quote-link")
    day.see("#quote-form")
    page.fill("#id_period_start", "2026-07-01")
    page.fill("#id_period_end", "2026-08-01")
    page.fill("#id_total_kwh", "320")
    page.click("#quote-form button")
    day.see("#bill-total")
    day.shot("quote")
    # the reading exceptions that would hold bills: decided before each route's billing day
    day.doing("reading-exceptions").page.goto(f"{day.demo.url}/")
    page.click('#todos a:has-text("计费前待处理的抄表异常")')
    day.see("#result-table tbody a")
    day.shot("reading-exceptions")
    day.doing("reading-decide").page.click("#result-table tbody a >> nth=0")
    day.see("form [name=decision]")
    day.shot("reading-decide")
    day.doing("reading-estimates").page.goto(f"{day.demo.url}/")
    page.click('#todos a:has-text("待审批估抄")')
    day.see("#result-table tbody a")
    day.shot("reading-estimates")
    day.doing("reading-approve").page.click("#result-table tbody a >> nth=0")
    day.see("form [name=reason]")
    day.shot("reading-approve")
    day.doing("reading-rules").menu("readings:rule-list")
    day.see("#result-table tbody tr")
    day.shot("reading-rules")


def key_account(day: Day) -> None:
    day.login("key_account")
    day.shot("workbench")
    day.doing("expiring").menu("customers:contract-expiring")
    day.see("#result-table tbody a")
    day.shot("expiring")


def metering(day: Day) -> None:
    day.login("metering")
    day.shot("workbench")
    for step, entry in (
        ("meters", "metering:meter-list"),
        ("plan", "metering:plan"),
        ("overdue", "metering:overdue"),
    ):
        day.doing(step).menu(entry)
        day.see("#result-table tbody a")
        day.shot(step)


def auditor(day: Day) -> None:
    page = day.page
    day.login("auditor")
    day.shot("workbench")
    day.doing("audit-log").menu("core:audit-log")
    day.see("#result-table tbody tr")
    day.shot("audit-log")
    day.doing("audit-filter")
    day.search_pick("#id_actor", "张晓燕")  # what the hotline rep (cs_rep) did today
    page.click("#filters button[type=submit]")
    day.see("#result-table tbody tr", "张晓燕")
    day.shot("audit-filter")
    day.doing("history").menu("customers:search")
    page.fill("#search-q", day.demo.facts["phone"])
    page.click("#search-table tbody a")
    day.see("#customer-name")
    page.click('#customer-tabs a[href$="tab=work-orders"]')
    page.click('#customer-work-orders tbody tr:has-text("投诉") a')
    day.see("#order-title", "投诉")
    day.see("#history tbody tr")
    day.shot("history", focus="#compensations")


def admin(day: Day) -> None:
    day.login("admin")
    day.shot("workbench")
    day.doing("units").menu("org:unit-list")
    day.see("#org-tree a")
    day.shot("units")
    day.doing("positions").menu("org:position-list")
    day.see("#result-table tbody a")
    day.shot("positions")
    day.doing("position").page.click('#result-table tbody a:has-text("客户服务代表")')
    day.see("h1", "客户服务代表")
    day.shot("position")
    day.doing("position-edit").page.click('a[href$="/edit/"]')
    day.see("#id_permissions")
    day.shot("position-edit", focus="#id_permissions")
    day.doing("logins").menu("org:login-log")
    day.see("#login-log")
    day.shot("logins")


def phone(day: Day) -> None:
    page = day.page
    day.login("cs_supervisor")
    day.shot("workbench")
    day.doing("drawer").page.click("#menu-toggle")
    day.see('#menu a[data-menu="service:desk"]')
    page.wait_for_timeout(400)  # the drawer's slide-in
    day.shot("drawer")
    day.doing("desk").page.click('#menu a[data-menu="service:desk"]')
    day.see("#desk-title")
    day.see("#result-table")
    day.shot("desk")
    day.doing("order").page.click("#result-table tbody a >> nth=0")
    day.see("#order-title")
    day.shot("order")


def reader(day: Day) -> None:
    """The station reader on the phone: KPIs and to-dos, the routes, this month's route in walking order with the
    previous reading and the expected range, and the task list."""
    page = day.page
    day.login("cg_reader")
    day.see("#kpis")
    day.shot("workbench")
    day.shot("kpis", focus="#kpis")
    day.doing("routes").page.click("#menu-toggle")
    day.see('#menu a[data-menu="readings:route-list"]')
    page.wait_for_timeout(400)  # the drawer's slide-in
    day.menu("readings:route-list")
    day.see("#result-table tbody a")
    day.shot("routes")
    day.doing("route").page.click("#result-table tbody a >> nth=0")
    day.see("#reading-form")
    day.shot("route")
    day.shot("route-entry", focus="#reading-form li")
    day.doing("tasks").page.click("#menu-toggle")
    day.see('#menu a[data-menu="readings:task-list"]')
    page.wait_for_timeout(400)
    day.menu("readings:task-list")
    day.see("#result-table")
    day.shot("tasks")


@dataclass(frozen=True)
class Walk:
    walk: Callable[[Day], None]
    needs: tuple[str, ...] = ()
    phone: bool = False


WALKS: dict[str, Walk] = {
    "manager": Walk(manager),
    "cs_rep": Walk(cs_rep),
    "cs_supervisor": Walk(cs_supervisor, needs=("cs_rep",)),  # approves the compensation the rep proposed
    "cg_rep": Walk(cg_rep),
    "repair": Walk(repair, needs=("cs_supervisor",)),  # works the order the supervisor dispatched
    "billing": Walk(billing),
    "key_account": Walk(key_account),
    "metering": Walk(metering),
    "auditor": Walk(auditor, needs=("cs_rep",)),  # reads the history of the complaint the rep registered
    "admin": Walk(admin),
    "phone": Walk(phone, phone=True),
    "reader": Walk(reader, phone=True),
}


def walk_all(browser: Browser, demo: Demo, names: list[str], out: Path, evidence: Path) -> list[str]:
    """Every named walk in its own browser context; the broken steps, named, with a screenshot of each in
    ``evidence``."""
    broken: list[str] = []
    for name in names:
        spec = WALKS[name]
        print(name)
        context = browser.new_context(
            locale=LOCALE,
            extra_http_headers=ACCEPT_LANGUAGE,
            timezone_id="Asia/Shanghai",
            viewport=PHONE if spec.phone else DESKTOP,
            device_scale_factor=1,
            is_mobile=spec.phone,
            has_touch=spec.phone,
        )
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        for stale in out.glob(f"{name}-*.png"):  # a step renamed or dropped leaves no orphan behind
            stale.unlink()
        day = Day(page, demo, name, out)
        try:
            spec.walk(day)
        except Exception as exc:  # noqa: BLE001 — any failure is a broken flow, reported by step
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            broken.append(f"{name}-{day.step}: {first_line} (at {page.url})")
            page.screenshot(path=str(evidence / f"broken-{name}-{day.step}.png"), type="png", scale="css")
            if os.environ.get("GRIDCARE_SCREENSHOT_TRACE"):
                traceback.print_exc()
        finally:
            context.close()
    return broken


def with_needs(names: list[str]) -> list[str]:
    """The chosen walks and those they depend on (and theirs), in the catalogue's order."""
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(WALKS[name].needs)
    return [name for name in WALKS if name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    parser.add_argument(
        "--only", action="append", choices=sorted(WALKS), help="one position's walk (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary demo directory (always kept when a walk breaks)",
    )
    options = parser.parse_args(argv)
    names = with_needs(options.only or list(WALKS))
    options.out.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="gridcare-screenshots-"))
    env = environment(var_dir)
    print(f"demo ({options.scale}) in {var_dir}")
    gridcare(env, "compile_translations", "--verbosity", "0")
    gridcare(env, "demo", "--scale", options.scale)
    facts = look_up(env)
    with served(env, var_dir / "serve.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, env=BROWSER_ENV, headless=True
        )
        try:
            broken = walk_all(browser, Demo(url, facts), names, options.out, var_dir)
        finally:
            browser.close()
    if broken:
        print("\nBROKEN FLOWS:", *broken, sep="\n  ", file=sys.stderr)
        print(f"screenshots of the broken steps and the server's log: {var_dir}", file=sys.stderr)
        return 1
    if not options.keep:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(f"\n{len(names)} walks, screenshots in {options.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
