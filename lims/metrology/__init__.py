"""Metrology: ``calibration`` (calibration and verification records, daily QC with Westgard
rules), ``metering`` (balances, scales and blood-pressure meters under verification),
``certificate`` (the calibration certificate PDF) and ``instruments`` (registering an
instrument for the listener)."""
