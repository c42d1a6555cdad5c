"""Readings shared by the calibration service and CLI tests."""

SCALE = {
    "instrument": {"max": 15000, "e": 5, "class": "III", "unit": "g"},
    "weighing": [{"load": p, "indication": p} for p in (0, 100, 2500, 3750, 7500, 10000, 11250,
                                                          15000)],
    "eccentricity": [{"position": q, "load": 5000, "indication": 5000}
                     for q in ("front-left", "front-right", "back-left", "back-right")],
    "repeatability": [{"load": 15000, "indication": i} for i in (15000, 15005, 15000)],
    "discrimination": [{"load": 100, "extra": 7, "before": 100, "after": 105}],
    "standard_weights": [{"nominal": 10000, "mpe": 0.5}, {"nominal": 5000, "mpe": 0.25}],
}

ANALYZER = {
    "conditions": {"temperature_c": 22, "humidity_pct": 60},
    "wavelength": [{"nominal_nm": 410, "measured_nm": 412}],
    "transmittance": [{"nominal_pct": 10.0, "readings": [10.2, 10.4, 10.3]}],
    "drift": {"readings": [0.500, 0.503, 0.498], "minutes": 10},
    "channels": {"1": 0.512, "2": 0.530},
    "sensitivity": [{"analyte": "methamidophos", "inhibition_pct": 62.0},
                    {"analyte": "methomyl", "inhibition_pct": 58.0}],
}

BP = {"unit": "mmHg", "points": [{"reference": 0, "indicated": 0},
                                 {"reference": 100, "indicated": 102},
                                 {"reference": 200, "indicated": 197}]}
