"""Who may do what, and what happened: ``auth`` (actors, roles, the permission table),
``users`` and ``sessions`` (accounts, passwords, lock-out, app sessions), ``policy`` (the security
policy from reference data), ``audit`` (the hash-chained audit trail) and ``backup`` (online
backup and restore)."""
