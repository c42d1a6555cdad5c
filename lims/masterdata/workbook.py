"""Bulk set-up from a workbook (``lims setup import``, the admin page's upload).

An ``.xlsx`` with one sheet per kind of record, or a folder of ``.csv`` files with the same
names. All or nothing: every row of every sheet is checked first; any bad row → ``ValidationFailed``
listing each as sheet, line and column, nothing written. Then rows are upserted by code (sheet
order: grid groups before the markets naming them …), so importing the same workbook twice
changes nothing. Read with ``lims.files.tabular``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from lims.errors import RowError, ValidationFailed
from lims.files import tabular
from lims.masterdata import fields, kits, records
from lims.security.auth import Actor, require


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[str, ...]       # in template order; the first ones up to `required` needed
    required: tuple[str, ...]
    key: str                       # the column rows are matched by (also the Known set)
    notes_zh: str
    notes_en: str


SHEETS: tuple[Sheet, ...] = (
    Sheet("grid_groups", ("code", "name", "county", "officer", "phone", "active"),
          ("code", "name", "county"), "code", "网格:编号、名称、县区、网格员、电话",
          "supervision grid cells: code, name, county, officer, phone"),
    Sheet("markets", ("code", "name", "county", "township", "kind", "grid_group", "active"),
          ("code", "name", "county", "kind"), "code",
          "市场:kind 填 农贸市场/批发市场/超市/食堂/夜市(或英文 farmers/wholesale/supermarket/"
          "canteen/night_market);grid_group 填网格编号",
          "markets: kind is farmers, wholesale, supermarket, canteen or night_market (or the "
          "Chinese word); grid_group is a grid group's code"),
    Sheet("vendors", ("market", "stall", "name", "licence_no", "phone", "active"),
          ("market", "stall"), "stall", "摊位:market 填市场编号,stall 为摊位号",
          "vendors/stalls: market is a market's code, stall its stall number"),
    Sheet("instruments", ("serial", "model", "kind", "driver", "market",
                          "calibration_interval_days", "active"),
          ("serial", "model", "kind", "driver"), "serial",
          "仪器:driver 填驱动名(astm、ad、mtsics、sbi、ohaus …)或 profile:型号文件名;market 留空表示实验室",
          "instruments: driver is a driver name (astm, ad, mtsics, sbi, ohaus …) or "
          "profile:NAME; an empty market means the lab"),
    Sheet("teams", ("name", "county", "leader", "active"), ("name",), "name",
          "志愿服务队(可选):名称、县区、队长", "volunteer teams (optional): name, county, leader"),
    Sheet("volunteers", ("team", "name", "phone", "active"), ("team", "name"), "name",
          "志愿者(可选):所属服务队名称、姓名、电话",
          "volunteers (optional): the team's name, name, phone"),
    Sheet("kits", ("kit", "method", "maker", "name", "lot", "expires_on", "active"),
          ("kit", "method", "lot", "expires_on"), "lot",
          "试剂盒批号(可选):kit 为试剂盒编号,method 为检测方法代码,lot 为批号,expires_on 为有效期至"
          "(YYYY-MM-DD);过期批号检测的结果将暂扣复核",
          "test kit lots (optional): kit is the kit's code, method a method code, lot the lot "
          "number, expires_on its expiry date (YYYY-MM-DD); results tested with an expired lot "
          "are held for review"),
)
BY_NAME = {s.name: s for s in SHEETS}
NOTES = ("notes", "说明")
#: common Chinese headers → column
HEADER_ALIASES = {"编号": "code", "代码": "code", "名称": "name", "姓名": "name", "县区": "county",
                  "区县": "county", "乡镇": "township", "街道": "township", "类型": "kind",
                  "网格": "grid_group", "网格员": "officer", "负责人": "officer", "电话": "phone",
                  "市场": "market", "摊位": "stall", "摊位号": "stall", "许可证号": "licence_no",
                  "序列号": "serial", "型号": "model", "驱动": "driver", "服务队": "team",
                  "队长": "leader", "启用": "active", "校准周期": "calibration_interval_days",
                  "试剂盒": "kit", "检测方法": "method", "生产厂家": "maker", "厂家": "maker",
                  "批号": "lot", "有效期至": "expires_on", "有效期": "expires_on"}


@dataclass(frozen=True)
class SheetRowError(RowError):
    """A bad cell of a workbook: sheet, line (1 = header) and column."""

    sheet: str = ""

    def __str__(self) -> str:
        return f"{self.sheet} line {self.row}, column {self.field}: {self.message}"


@dataclass
class SetupReport:
    source: str
    sheets: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sheets": self.sheets}


def read_source(path: Path) -> dict[str, tabular.Table]:
    """The tables of an .xlsx workbook or of a folder of .csv files, by sheet name."""
    if path.is_dir():
        return {p.stem: tabular.read_table(p) for p in sorted(path.glob("*.csv"))}
    if path.suffix.lower() != ".xlsx":
        raise tabular.FileFormatError(f"{path.name}: expected an .xlsx workbook or a folder of "
                                      ".csv files")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise tabular.FileFormatError(f"{path}: cannot read ({exc.strerror})") from None
    return tabular.read_xlsx_sheets(data, path.name)


def read_upload(name: str, data: bytes) -> dict[str, tabular.Table]:
    """An uploaded .xlsx workbook (or one .csv named after its sheet)."""
    if name.lower().endswith(".csv"):
        return {Path(name).stem: tabular.read_csv_bytes(data, name)}
    return tabular.read_xlsx_sheets(data, name)


CHECKS = {"grid_groups": fields.check_grid_group, "markets": fields.check_market,
          "vendors": fields.check_vendor, "instruments": fields.check_instrument,
          "teams": fields.check_team, "volunteers": fields.check_volunteer,
          "kits": kits.check_kit_row}
UPSERTS = {"grid_groups": records.upsert_grid_group, "markets": records.upsert_market,
           "vendors": records.upsert_vendor, "instruments": records.upsert_instrument,
           "teams": records.upsert_team, "volunteers": records.upsert_volunteer,
           "kits": kits.upsert_kit_row}
REFERENCING = {"markets", "vendors", "instruments", "volunteers"}


def _header(sheet: Sheet, table: tabular.Table, bad: list[RowError]) -> list[str | None]:
    cols: list[str | None] = []
    for raw in table.header:
        name = raw.strip()
        col = HEADER_ALIASES.get(name, name.lower())
        if not name:
            cols.append(None)
        elif col not in sheet.columns:
            bad.append(SheetRowError(1, raw, f"unknown column (expected: {', '.join(sheet.columns)})",
                                     sheet=sheet.name))
            cols.append(None)
        else:
            cols.append(col)
    for col in sheet.required:
        if col not in cols:
            bad.append(SheetRowError(1, col, "required column missing", sheet=sheet.name))
    return cols


def check_workbook(session: Session, tables: dict[str, tabular.Table],
                   profile_dirs: tuple[Path, ...] = ()) -> list[tuple[str, int, dict]]:
    """Every row checked; the rows to upsert in order, or ``ValidationFailed`` naming each bad
    cell by sheet, line and column."""
    bad: list[RowError] = []
    parsed: dict[str, list[tuple[int, dict[str, str]]]] = {}
    known = fields.Known()
    for name, table in tables.items():
        if name.strip().lower() in NOTES:
            continue
        sheet = BY_NAME.get(name.strip().lower())
        if sheet is None:
            bad.append(SheetRowError(0, "sheet", f"unknown sheet {name!r} (expected: "
                                     f"{', '.join(BY_NAME)}, or notes)", sheet=name))
            continue
        cols = _header(sheet, table, bad)
        rows = []
        seen: dict[tuple, int] = {}
        for line, cells in tabular.iter_nonblank(table):
            row = {c: fields.text(v) for c, v in zip(cols, cells, strict=False) if c}
            key = (row.get("market", ""), row.get("team", ""), row.get("kit", ""),
                   row.get(sheet.key, ""))
            if row.get(sheet.key) and key in seen:
                bad.append(SheetRowError(line, sheet.key, f"{row[sheet.key]!r} also on line "
                                         f"{seen[key]}", sheet=sheet.name))
            seen.setdefault(key, line)
            rows.append((line, row))
        parsed[sheet.name] = rows
        target = {"grid_groups": known.grid_groups, "markets": known.markets,
                  "teams": known.teams}.get(sheet.name)
        if target is not None:
            target.update(r[sheet.key] for _, r in rows if r.get(sheet.key))
    out: list[tuple[str, int, dict]] = []
    for sheet in SHEETS:  # in dependency order
        for line, row in parsed.get(sheet.name, []):
            errors: fields.Errors = []
            kw: dict[str, Any] = {"known": known} if sheet.name in REFERENCING else {}
            if sheet.name == "instruments":
                kw["profile_dirs"] = profile_dirs
            values = CHECKS[sheet.name](session, row, errors, **kw)
            bad += [SheetRowError(line, col, msg, sheet=sheet.name) for col, msg in errors]
            if values is not None:
                out.append((sheet.name, line, values))
    if bad:
        raise ValidationFailed(bad, "workbook")
    return out


def import_setup(*, session: Session, actor: Actor, tables: dict[str, tabular.Table],
                 source: str = "workbook", profile_dirs: tuple[Path, ...] = ()) -> SetupReport:
    """Check every row, then upsert them all (in the caller's transaction)."""
    require(actor, records.PERMISSION)
    rows = check_workbook(session, tables, profile_dirs)
    report = SetupReport(source)
    for name in tables:
        if (sheet := BY_NAME.get(name.strip().lower())) is not None:
            report.sheets[sheet.name] = {"created": 0, "updated": 0, "unchanged": 0}
    for name, _line, values in rows:
        outcome = UPSERTS[name](session, actor, values)
        report.sheets[name][outcome] += 1
    return report


def template_bytes() -> bytes:
    """An empty workbook: one sheet per kind with its header, and a notes sheet (zh and en)."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "notes"
    notes.append(["sheet", "说明", "notes", "required columns"])
    for s in SHEETS:
        notes.append([s.name, s.notes_zh, s.notes_en, ", ".join(s.required)])
    notes.append([])
    notes.append(["", "每个编号只导入一次;重复导入同一文件不会改变任何数据。有错误的文件整体不写入。",
                  "Rows are matched by code: importing the same workbook twice changes nothing. "
                  "A workbook with any bad row writes nothing.", ""])
    for s in SHEETS:
        wb.create_sheet(s.name).append(list(s.columns))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
