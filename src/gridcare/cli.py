"""The ``gridcare`` command: its own subcommands plus every Django management command, settings preselected.

gridcare demo [--scale small|medium|large] [--reset]   build the demo utility
gridcare serve [--port 8000]                          serve the UI on 127.0.0.1
gridcare tariff bill-urdb|quote …                     tariff tools (no database needed)
gridcare readings vee --period 2026-11 | ingest FILE…  period validation; interval/read files into gridcare
gridcare billing run --period 2026-11 [--executor …]  a billing run (电费核算)
gridcare migrate | shell -c "…" | …                   any Django management command
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "tariff":
        from gridcare.tariffs.cli import main as tariff_main

        return tariff_main(args[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["gridcare", *args])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
