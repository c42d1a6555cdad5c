"""security: app sessions; results and the audit trail refuse DELETE (and audit UPDATE)

Revision ID: 0009_security
Revises: 0001
Create Date: 2026-11-25 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lims.timeutil

revision: str = '0009_security'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (trigger name, table, operation, message)
GUARDS = (
    ("test_result_no_delete", "test_result", "DELETE",
     "test results are never deleted: void them with a reason"),
    ("audit_event_no_delete", "audit_event", "DELETE",
     "the audit trail is append-only: events are never deleted"),
    ("audit_event_no_update", "audit_event", "UPDATE",
     "the audit trail is append-only: events are never changed"),
)
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION lims_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lims: % on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.create_table('app_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('created_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', lims.timeutil.TZDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', lims.timeutil.TZDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('app_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_session_username'), ['username'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for name, table, operation, message in GUARDS:
            op.execute(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION lims_refuse_change('{message}')")
        for table in ("test_result", "audit_event"):
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change('never emptied')")
    else:
        for name, table, operation, message in GUARDS:
            op.execute(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, _operation, _message in GUARDS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        for table in ("test_result", "audit_event"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS lims_refuse_change()")
    with op.batch_alter_table('app_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_session_username'))

    op.drop_table('app_session')
