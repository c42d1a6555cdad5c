"""Plotly figures for the pages (no Streamlit here; labels come in already translated)."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from lims.reporting.stats import wilson_interval

OK, BAD, WARN, GREY = "#1a7f37", "#cf222e", "#bf8700", "#8c959f"


def pooled_by_week(rows: list[dict]) -> list[dict]:
    """Sum market × week rows into one row per week, with its Wilson interval."""
    weeks: dict = {}
    for r in rows:
        w = weeks.setdefault(r["week_start"], {"week_start": r["week_start"], "tested": 0,
                                               "passed": 0, "failed": 0})
        w["tested"] += r["tested"]
        w["passed"] += r["passed"]
        w["failed"] += r["failed"]
    out = []
    for k in sorted(weeks):
        w = weeks[k]
        lo, hi = wilson_interval(w["passed"], w["tested"])
        w.update(pass_rate=w["passed"] / w["tested"] if w["tested"] else math.nan,
                 ci_low=lo, ci_high=hi)
        out.append(w)
    return out


def trend(rows: list[dict], per_market: bool, labels: dict, date_format: str) -> go.Figure:
    """Pass rate per week with its 95 % Wilson band (pooled), optionally one line per market."""
    fig = go.Figure()
    pooled = pooled_by_week(rows)
    x = [r["week_start"] for r in pooled]
    fig.add_trace(go.Scatter(x=x + x[::-1],
                             y=[r["ci_high"] for r in pooled] + [r["ci_low"] for r in pooled][::-1],
                             fill="toself", fillcolor="rgba(9,105,218,0.15)", line={"width": 0},
                             hoverinfo="skip", name=labels["ci"]))
    fig.add_trace(go.Scatter(x=x, y=[r["pass_rate"] for r in pooled], mode="lines+markers",
                             name=labels["all"], line={"color": "#0969da", "width": 3},
                             customdata=[[r["tested"], r["ci_low"], r["ci_high"]] for r in pooled],
                             hovertemplate=f"{labels['pass_rate']} %{{y:.1%}} "
                                           f"(%{{customdata[1]:.1%}}–%{{customdata[2]:.1%}})"
                                           f"<br>{labels['tested']} %{{customdata[0]}}<extra></extra>"))
    if per_market:
        by_market: dict[str, list[dict]] = {}
        for r in rows:
            by_market.setdefault(r["market"], []).append(r)
        for name, rs in by_market.items():
            fig.add_trace(go.Scatter(
                x=[r["week_start"] for r in rs], y=[r["pass_rate"] for r in rs],
                mode="lines+markers", name=name, opacity=0.8,
                error_y={"type": "data", "symmetric": False, "thickness": 1,
                         "array": [r["ci_high"] - r["pass_rate"] for r in rs],
                         "arrayminus": [r["pass_rate"] - r["ci_low"] for r in rs]},
                customdata=[[r["tested"], r["failed"]] for r in rs],
                hovertemplate=f"{labels['pass_rate']} %{{y:.1%}}<br>{labels['tested']} "
                              f"%{{customdata[0]}}<br>{labels['failed']} %{{customdata[1]}}"
                              f"<extra>{name}</extra>"))
    fig.update_layout(yaxis={"tickformat": ".0%", "title": labels["pass_rate"]},
                      xaxis={"title": labels["week"], "tickformat": date_format},
                      height=460, legend={"orientation": "h"}, margin={"t": 30})
    return fig


def p_chart(points: list[dict], labels: dict, date_format: str) -> go.Figure:
    """One market's weekly fail proportion with its centre line and 3σ limits."""
    x = [p["week_start"] for p in points]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=[p["ucl"] for p in points], name=labels["ucl"],
                             line={"color": BAD, "dash": "dash", "shape": "hv"}))
    fig.add_trace(go.Scatter(x=x, y=[p["lcl"] for p in points], name=labels["lcl"],
                             line={"color": GREY, "dash": "dash", "shape": "hv"}))
    fig.add_trace(go.Scatter(x=x, y=[p["centre"] for p in points], name=labels["centre"],
                             line={"color": "#57606a"}))
    colours = [BAD if p["signal"] == "high" else (OK if p["signal"] == "low" else "#0969da")
               for p in points]
    symbols = ["x" if p["signal"] else "circle" for p in points]
    fig.add_trace(go.Scatter(x=x, y=[p["p"] for p in points], mode="lines+markers",
                             name=labels["p"], line={"color": "#0969da"},
                             marker={"color": colours, "symbol": symbols, "size": 11},
                             customdata=[[p["tested"], p["failed"]] for p in points],
                             hovertemplate=f"%{{y:.1%}}<br>{labels['tested']} %{{customdata[0]}}"
                                           f"<br>{labels['failed']} %{{customdata[1]}}<extra></extra>"))
    fig.update_layout(yaxis={"tickformat": ".0%", "title": labels["p"], "rangemode": "tozero"},
                      xaxis={"title": labels["week"], "tickformat": date_format},
                      height=420, legend={"orientation": "h"}, margin={"t": 30})
    return fig


def heatmap(rows: list[dict], labels: dict, week_label) -> go.Figure:
    markets = sorted({r["market"] for r in rows})
    weeks = sorted({r["week_start"] for r in rows})
    idx = {(r["market"], r["week_start"]): r for r in rows}
    z, text = [], []
    for m in markets:
        z.append([idx[(m, w)]["pass_rate"] if (m, w) in idx else None for w in weeks])
        text.append([f"{idx[(m, w)]['passed']}/{idx[(m, w)]['tested']}" if (m, w) in idx else ""
                     for w in weeks])
    fig = go.Figure(go.Heatmap(
        z=z, x=[week_label(w) for w in weeks], y=markets, text=text, zmin=0.8, zmax=1.0,
        colorscale=[[0, BAD], [0.5, "#f6e05e"], [1, OK]], hoverongaps=False,
        colorbar={"title": labels["pass_rate"], "tickformat": ".0%"},
        # the number is written in each cell, so colour is never the only cue
        texttemplate="%{z:.0%}" if len(weeks) <= 26 else None,
        hovertemplate=f"%{{y}} · %{{x}}<br>{labels['pass_rate']} %{{z:.1%}} "
                      f"(%{{text}})<extra></extra>"))
    fig.update_layout(height=max(320, 26 * len(markets) + 120), margin={"t": 30},
                      xaxis={"title": labels["week"]})
    return fig


def bars(rows: list[dict], names: list[str], labels: dict) -> go.Figure:
    """Horizontal pass-rate bars with Wilson intervals, worst first (at the top)."""
    fig = go.Figure(go.Bar(
        y=names, x=[r["pass_rate"] for r in rows], orientation="h",
        marker={"color": [BAD if r["pass_rate"] < 0.9 else (WARN if r["pass_rate"] < 0.97 else OK)
                          for r in rows]},
        error_x={"type": "data", "symmetric": False,
                 "array": [r["ci_high"] - r["pass_rate"] for r in rows],
                 "arrayminus": [r["pass_rate"] - r["ci_low"] for r in rows]},
        customdata=[[r["tested"], r["failed"]] for r in rows],
        hovertemplate=f"%{{y}}: %{{x:.1%}}<br>{labels['tested']} %{{customdata[0]}} · "
                      f"{labels['failed']} %{{customdata[1]}}<extra></extra>"))
    fig.update_layout(xaxis={"tickformat": ".0%", "title": labels["pass_rate"]},
                      yaxis={"autorange": "reversed"}, height=max(260, 28 * len(rows) + 100),
                      margin={"t": 20})
    return fig


def levey_jennings(values: list[float], times: list, mean: float, sd: float,
                   flags: list[str | None], labels: dict) -> go.Figure:
    fig = go.Figure()
    for k, colour, dash in ((3, BAD, "dash"), (2, WARN, "dot"), (1, GREY, "dot")):
        for sign in (1, -1):
            fig.add_hline(y=mean + sign * k * sd, line={"color": colour, "dash": dash},
                          annotation_text=f"{'+' if sign > 0 else '−'}{k}s",
                          annotation_position="right")
    fig.add_hline(y=mean, line={"color": "#57606a"}, annotation_text=labels["mean"])
    fig.add_trace(go.Scatter(
        x=times, y=values, mode="lines+markers", name=labels["value"],
        marker={"color": [BAD if f else "#0969da" for f in flags],
                "symbol": ["x" if f else "circle" for f in flags], "size": 10},
        text=[f or "" for f in flags], hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>"))
    fig.update_layout(height=420, margin={"t": 30, "r": 60}, showlegend=False,
                      yaxis={"title": labels["value"]})
    return fig
