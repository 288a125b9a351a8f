"""``gridcare import_org FILE.xlsx`` — load the company's own org tree and staff (see :mod:`gridcare.org.importing`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.context import origin
from gridcare.customers.importing import error_sheet_path
from gridcare.org.importing import org_template, run_org_import
from gridcare.org.selectors import system_actor


class Command(BaseCommand):
    help = (
        "Import org units (sheet 1, 组织机构) and staff (sheet 2, 人员) from an Excel file, all or nothing. "
        "--template FILE writes an empty template."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the .xlsx file to import (or to write with --template)")
        parser.add_argument("--template", action="store_true", help="write the template to FILE and stop")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if options["template"]:
            path.write_bytes(org_template())
            self.stdout.write(f"模板已写入 (template written): {path}")
            return
        if not path.is_file():
            raise CommandError(f"找不到文件「{path}」。 (No such file.)")
        actor = system_actor()
        with origin(job_id="import_org"):
            result = run_org_import(actor, path.read_bytes())
        if result.errors:
            for error in result.errors[:50]:
                self.stderr.write(f"第 {error.row} 行 (row) {error.column}: {error.reason}")
            if len(result.errors) > 50:
                self.stderr.write(f"… 共 {len(result.errors)} 处错误 (errors in all)")
            sheet = error_sheet_path(actor, result.error_token)
            raise CommandError(
                f"未导入任何数据：{len(result.errors)} 处错误，错误清单见 {sheet}。 "
                "(Nothing imported: fix the errors listed and run again.)"
            )
        self.stdout.write(
            f"已导入 (imported): {result.created.get('units', 0)} 个机构 (units), "
            f"{result.created.get('staff', 0)} 名人员 (staff)"
        )
