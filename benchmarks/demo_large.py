"""Benchmark: ``gridcare demo --scale large`` on a fresh PostgreSQL database (target ≤ 10 minutes).

    .venv/bin/python benchmarks/demo_large.py [--db gridcare_bench_demo] [--scale large] [--apps org,customers,metering]

Drops and recreates the database on the local server (user postgres), then runs the demo command exactly as a
user would, printing each line of its output with the elapsed time, so each app's share is visible. With
``--apps`` only those apps' demo parts run (after migrate and the position catalogue), each timed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
SERVER = "postgres://postgres@127.0.0.1:5432"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="gridcare_bench_demo")
    parser.add_argument("--scale", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--apps", default="", help="comma-separated app labels: time only their demo parts")
    args = parser.parse_args()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        conn.execute(f'CREATE DATABASE "{args.db}"')
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{args.db}",
        "GRIDCARE_VAR_DIR": str(ROOT / "var" / "bench"),
    }
    command = [str(ROOT / ".venv" / "bin" / "gridcare"), "demo", "--scale", args.scale]
    if args.apps:
        command = [sys.executable, __file__, "--in-process", args.apps, "--scale", args.scale]
    print(
        f"$ DATABASE_URL={env['DATABASE_URL']} {' '.join(command[1:])}  (fresh database, {os.cpu_count()} cores)"
    )
    started = time.perf_counter()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("  ") or not line.strip():
                continue  # demo logins
            print(f"[{time.perf_counter() - started:7.1f} s] {line.rstrip()}", flush=True)
    total = time.perf_counter() - started
    print(
        f"gridcare demo --scale {args.scale}: {total:.0f} s ({total / 60:.1f} min), exit code {proc.returncode}"
    )
    sys.exit(proc.returncode)


def in_process(apps: list[str], scale: str) -> None:
    """Run only the given apps' demo parts, as the demo command does (same actor and job id)."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from gridcare.core.context import origin
    from gridcare.core.discovery import app_modules
    from gridcare.org.selectors import system_actor

    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_catalogue", verbosity=0)
    with origin(job_id=f"demo-{int(time.time())}"):
        for config, module in app_modules("demo"):
            if config.label in apps:
                started = time.perf_counter()
                for line in module.build(system_actor(), scale):
                    print(line, flush=True)
                print(f"{config.label}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--in-process":
        in_process(sys.argv[2].split(","), sys.argv[sys.argv.index("--scale") + 1])
    else:
        main()
