"""Master data (issue 13): grid groups, markets, vendors/stalls, instruments, volunteer teams and
volunteers, set up from a workbook (``workbook``) or one record at a time (``records``).

Upsert by code; never deleted (results point to them), deactivated instead; every change audited
(``<entity>.create|update|activate|deactivate``). Permission ``masterdata.edit`` (admins,
everything) or ``masterdata.county`` (managers, their own county: ``scope``). Test kits and
their lots: ``kits``.
"""
