"""Metrology and QC maths on numpy/scipy. Pure: numbers in, verdicts out. Never imports lims/ or dashboards/."""
