"""Demo step (``lims demo``): QC control series with daily-QC runs, intermediate checks of the
lab balances with full readings, and residents' instruments checked at outreach events.

Runs after the results (nothing here changes the calibration gate: daily QC and intermediate
checks are not gating kinds). One analyzer drifts upwards in the last days, so Westgard fires.
"""

from __future__ import annotations

from datetime import timedelta

from calibration import weighing as cal_weighing
from calibration.refdata import load_qc
from lims.demo.loader import DemoContext, register_step
from lims.metrology import calibration as cal
from lims.metrology import metering

QC_ANALYZERS = 4
QC_DAYS = 30
CONTROL_MEAN, CONTROL_SD = 0.50, 0.012


def _qc(ctx: DemoContext) -> None:
    rng = ctx.rng("demo_calibration.qc")
    analyzers = ctx.instruments.get("enzyme", [])[:QC_ANALYZERS]
    n_base = load_qc().baseline_min_values * 2
    days = min(QC_DAYS, ctx.days)
    for k, inst in enumerate(analyzers):
        base_day = ctx.until - timedelta(days=days + n_base)
        cal.add_qc_values(session=ctx.session, actor=ctx.actor, serial_no=inst.serial_no,
                          baseline=True, values=[
                              (ctx.local(base_day + timedelta(days=i), 8.5),
                               round(rng.gauss(CONTROL_MEAN, CONTROL_SD), 4))
                              for i in range(n_base)])
        for d in range(days):
            day = ctx.until - timedelta(days=days - 1 - d)
            shift = 1.6 * CONTROL_SD if (k == 0 and d >= days - 4) else 0.0
            run = rng.gauss(CONTROL_MEAN, CONTROL_SD * 0.6) + shift
            channels = {str(c): round(run + rng.gauss(0, 0.004), 4) for c in range(1, 5)}
            cal.record(session=ctx.session, actor=ctx.actor, serial_no=inst.serial_no,
                       kind="daily_qc", performed_at=ctx.local(day, 8.25),
                       readings={"control_delta": channels}, notes="demo data")
            ctx.counts["qc_runs"] += 1


def _scale_readings(spec: cal_weighing.ScaleSpec, rng) -> dict:
    def ind(load: float) -> float:
        return round(load + rng.choice([0, 0, 0, 1, -1]) * spec.div, 6)

    ecc_load = round(spec.max / 3, 3)
    return {
        "instrument": {"max": spec.max, "e": spec.e, "d": spec.div, "class": spec.accuracy_class},
        "weighing": [{"load": p, "indication": ind(p)} for _, p in
                     cal_weighing.required_points(spec)],
        "eccentricity": [{"position": q, "load": ecc_load, "indication": ind(ecc_load)}
                         for q in ("front-left", "front-right", "back-left", "back-right")],
        "repeatability": [{"load": spec.max, "indication": ind(spec.max)} for _ in range(3)],
        "discrimination": [{"load": spec.max / 2, "extra": round(1.4 * spec.div, 6),
                            "before": spec.max / 2, "after": spec.max / 2 + spec.div}],
        "standard_weights": [{"nominal": spec.max / 2, "mpe": round(spec.e / 10, 6)}],
    }


def _balances(ctx: DemoContext) -> None:
    rng = ctx.rng("demo_calibration.balances")
    specs = [cal_weighing.ScaleSpec(max=220, e=0.001, d=0.0001, accuracy_class="I"),
             cal_weighing.ScaleSpec(max=3100, e=0.1, d=0.01, accuracy_class="II")]
    for inst, spec in zip(ctx.instruments.get("balance", []), specs, strict=False):
        cal.record(session=ctx.session, actor=ctx.actor, serial_no=inst.serial_no,
                   kind="intermediate_check", performed_at=ctx.local(ctx.until - timedelta(
                       days=rng.randint(5, 25)), 14.0),
                   readings=_scale_readings(spec, rng), reference_equipment="E2 weights",
                   notes="demo data")
        ctx.counts["scale_checks"] += 1


def _meter_checks(ctx: DemoContext) -> None:
    rng = ctx.rng("demo_calibration.metering")
    makes = {"body_scale": ["香山", "小米", "华为"], "bp_meter": ["欧姆龙", "鱼跃", "九安"],
             "kitchen_scale": ["香山", "凯丰"]}
    for ev in ctx.events:
        for _ in range(rng.randint(2, 6)):
            kind = rng.choice(["body_scale", "body_scale", "bp_meter", "bp_meter",
                               "kitchen_scale"])
            if kind == "bp_meter":
                err = rng.choice([0, 0, 1, -1, 2, -2, 3, 5])
                readings = {"unit": "mmHg", "points": [
                    {"reference": r, "indicated": r + (err if r else 0)} for r in (0, 100, 200)]}
            elif kind == "body_scale":
                err = rng.choice([0, 0, 0, 100, -100, 200, 500])
                readings = {"instrument": {"max": 150000, "e": 100}, "weighing": [
                    {"load": 20000, "indication": 20000 + err},
                    {"load": 60000, "indication": 60000 + err}]}
            else:
                err = rng.choice([0, 0, 1, -1, 2, 6])
                readings = {"instrument": {"max": 5000, "e": 1}, "weighing": [
                    {"load": 500, "indication": 500 + err},
                    {"load": 2000, "indication": 2000 + err}]}
            metering.record_check(session=ctx.session, actor=ctx.actor, event_id=ev.id,
                                  kind=kind, readings=readings, make=rng.choice(makes[kind]),
                                  checked_at=ev.starts_at + timedelta(minutes=rng.randint(5, 170)))
            ctx.counts["meter_checks"] += 1


@register_step(after="demo_results")
def demo_calibration(ctx: DemoContext) -> None:
    """QC series and daily QC, balance intermediate checks, outreach meter checks."""
    _qc(ctx)
    _balances(ctx)
    _meter_checks(ctx)
