"""Metrology: ``calibration`` (calibration and verification records, daily QC with Westgard
rules), ``metering`` (balances, scales and blood-pressure meters under verification),
``certificate`` (the calibration certificate PDF), ``attachments`` (uploaded certificate files,
stored content-addressed), ``meter_slip`` (the resident's slip of a meter check) and
``instruments`` (registering an instrument for the listener)."""
