"""Readings in: the one intake pipeline every reading goes through.

``pipeline.accept_readings`` validates and binds a batch (``binding``), judges it with the
verdict engine (``judging``), applies the calibration ``gate``, stores it (``storing``), keeps the
pass-rate ``rollups`` exact and runs the follow-up (case, alert, grade). ``readings`` holds what
goes in and comes out; ``corrections`` and ``review`` change stored results (re-judged, voided,
accepted), never deleting them."""
