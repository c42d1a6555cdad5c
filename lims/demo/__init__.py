"""Demo data: ``lims demo`` builds a realistic, reproducible county (places, instruments,
events, results, cases, teams) through the public functions of the other packages — results go
through the intake pipeline like any other. ``loader`` (steps and the run), ``places``,
``results``, ``workflows``, ``calibration``; ``scenario.toml`` holds the fictional world."""
