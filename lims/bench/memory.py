"""Peak RSS of the dashboard's data path, measured in a fresh subprocess.

The child imports what the Streamlit process imports for the management pages (streamlit, the
services), then loads what the pass-rate page loads by default — the filter options and the
trend of all markets over the last year (``pass_rate_by_market_week``, a list of dicts) — plus
the 52-week heatmap and the commodity × analyte breakdown, and reports its peak RSS (VmHWM) before and
after.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date


def peak_kb() -> int:
    """This process image's peak resident memory in kB: VmHWM of /proc/self/status (Linux).
    Not ru_maxrss, which Linux carries over fork+exec from the parent's high-water mark (a big
    test worker or benchmark would be counted)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


CHILD = r"""
import json, resource, sys
from datetime import date, timedelta

import streamlit  # noqa: F401  (loaded in the dashboard process anyway)
from sqlmodel import Session

from lims.storage.engine import make_engine
from lims.reporting import stats

from lims.bench.memory import peak_kb


url, end = sys.argv[1], date.fromisoformat(sys.argv[2])
before = peak_kb()
engine = make_engine(url)
with Session(engine) as s:
    stats.filter_options(session=s)
    year = stats.TrendFilter(start=end - timedelta(days=365), end=end)  # the page's default
    trend = stats.pass_rate_by_market_week(session=s, filters=year)
    heat = stats.heatmap(session=s, filters=year)
    items = stats.commodity_analyte_breakdown(session=s, filters=year)
after = peak_kb()
print(json.dumps({"before_mb": before / 1024, "peak_mb": after / 1024, "trend_rows": len(trend),
                  "heatmap_cells": int(heat["tested"].size), "breakdown_rows": len(items)}))
"""


def dashboard_peak_rss(url: str, end: date) -> dict:
    """{'before_mb', 'peak_mb', ...} of a child process running the dashboard's data path."""
    out = subprocess.run([sys.executable, "-c", CHILD, url, end.isoformat()], check=True,
                         capture_output=True, text=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])
