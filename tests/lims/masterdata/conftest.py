"""Workbooks for the set-up import tests."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

GOOD = {
    "grid_groups": [["code", "name", "county", "officer", "phone"],
                    ["G1", "城关网格", "青山县", "王伟", 13800138000]],
    "markets": [["code", "name", "county", "township", "kind", "grid_group"],
                ["M1", "城关农贸市场", "青山县", "城关镇", "农贸市场", "G1"],
                ["M2", "Night market", "青山县", "", "night_market", ""]],
    "vendors": [["market", "stall", "name", "licence_no", "phone"],
                ["M1", "A01", "张三蔬菜", "JY123", ""],
                ["M1", "A02", "李四", "", ""]],
    "instruments": [["serial", "model", "kind", "driver", "market"],
                    ["SN-1", "RP-410", "pesticide_analyzer", "astm", "M1"]],
    "teams": [["name", "county", "leader"], ["青山志愿队", "青山县", "赵六"]],
    "volunteers": [["team", "name", "phone"], ["青山志愿队", "小王", "139"]],
}


def write_book(path: Path, sheets: dict[str, list[list]], notes: bool = True) -> Path:
    wb = Workbook()
    first = wb.active
    if notes:
        first.title = "notes"
    else:
        wb.remove(first)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path
