"""The big-file import: rows/s and peak memory of ``lims results import`` on a generated CSV.

``write_csv`` writes ``n`` enzyme-inhibition readings (about 92 bytes a row: 550 000 rows make
the 50 MB file of issue 18). ``run`` imports such a file into a fresh SQLite database in a child
process and reads its peak resident memory (VmHWM, ``lims.bench.memory.peak_kb``), so the figure is the
import's own and not the benchmark's.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

HEADER = ["market", "vendor_stall", "commodity", "method", "tested_at", "tested_by",
          "control_delta", "sample_delta", "instrument_verdict"]
MARKET, STALL, COMMODITY = "IMP-01", "A01", "小白菜"


def write_csv(path: Path, n: int, *, market: str = MARKET, stall: str = STALL,
              commodity: str = COMMODITY, start: datetime | None = None,
              bad_row: int | None = None) -> Path:
    """``n`` negative enzyme readings, one second apart from ``start`` (every row a new
    sample); with ``bad_row`` (a data row number, 1 = first) that row names no such method."""
    start = start or datetime(2026, 1, 1, 8, 0)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(n):
            a0 = 0.35 + (i % 2500) / 10000
            w.writerow([market, stall, commodity,
                        "NO-SUCH-METHOD" if bad_row == i + 1 else "ENZ-5009.199",
                        (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S"), "刘敏",
                        f"{a0:.4f}", f"{a0 * 0.8:.4f}", "阴性"])
    return path


def add_place(engine) -> None:
    """The market and stall ``write_csv`` names."""
    from sqlmodel import Session

    from lims.models import Market, Vendor

    with Session(engine) as s:
        m = Market(code=MARKET, name="导入测试市场", county="城关区", kind="farmers")
        s.add(m)
        s.flush()
        s.add(Vendor(market_id=m.id, stall=STALL, name="张三"))
        s.commit()


def prepare_db(url: str) -> None:
    """A migrated database with reference data and the market and stall the file names."""
    from sqlmodel import Session

    from lims.reference.loader import load_reference_data
    from lims.storage.engine import make_engine
    from lims.storage.schema import upgrade

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        load_reference_data(session=s)
        s.commit()
    add_place(engine)
    engine.dispose()


def child(url: str, path: str) -> None:
    """In a child process: import ``path``; print rows, seconds and peak RSS (MB) as JSON."""
    from sqlmodel import Session

    from lims.bench.memory import peak_kb
    from lims.errors import ValidationFailed
    from lims.files.results_import import import_results
    from lims.security.auth import SYSTEM
    from lims.storage.engine import make_engine

    engine = make_engine(url)
    t = time.perf_counter()
    out: dict = {}
    marks: dict[str, float] = {}

    def progress(stage: str, _rows: int) -> None:   # when each stage was last heard
        marks[stage] = time.perf_counter()

    with Session(engine) as s:
        try:
            rep = import_results(session=s, actor=SYSTEM, path=Path(path), progress=progress)
            s.commit()
            out.update(rows=rep.rows, created=rep.created)
        except ValidationFailed as exc:   # (a file with a bad row: pass 1 alone)
            out.update(rows=0, created=0, bad_rows=[e.row for e in exc.errors])
    out["seconds"] = time.perf_counter() - t
    if "published" in marks and "stored" in marks:   # the publish: one write transaction
        out["publish_s"] = marks["published"] - marks["stored"]
    out["peak_mb"] = peak_kb() / 1024   # this image's own peak, not the forked parent's
    print(json.dumps(out))


def import_in_child(url: str, path: Path, timeout: float = 3600) -> dict:
    """Run ``child`` in a fresh interpreter; its JSON line as a dict."""
    out = subprocess.run([sys.executable, "-m", "lims.bench.import_bench", url, str(path)],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"import child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rows: int = 550_000) -> dict:
    """Generate a ``rows``-row CSV, import it into a fresh SQLite file; rows/s and peak MB."""
    with tempfile.TemporaryDirectory(prefix="lims-import-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'import.sqlite3'}"
        prepare_db(url)
        path = write_csv(Path(tmp) / "big.csv", rows)
        size_mb = path.stat().st_size / 1e6
        got = import_in_child(url, path)
    return {"rows": got["rows"], "file_mb": size_mb, "seconds": got["seconds"],
            "rows_per_s": got["rows"] / got["seconds"], "peak_mb": got["peak_mb"],
            "publish_s": got.get("publish_s")}


if __name__ == "__main__":   # python -m lims.bench.import_bench --rows 550000
    if sys.argv[1] == "--rows":
        print(json.dumps(run(int(sys.argv[2]))))
    else:
        child(sys.argv[1], sys.argv[2])
