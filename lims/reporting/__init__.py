"""Management figures: ``stats`` (pass rates per market and week with Wilson intervals, from
the rollups), ``reports`` (breakdowns, p-chart, instrument status, grades), ``monthly_report``
(the monthly PDF) and ``agreement`` (rapid method against the lab, KJ 201902 annex A)."""
