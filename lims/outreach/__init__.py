"""Outreach: ``events`` (outreach events, volunteer teams, volunteers, service hours and
night-market patrols)."""
