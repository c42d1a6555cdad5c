"""test_result.vendor_id: a vendor's results and positives without its samples (issue 15)

Revision ID: 0035_result_vendor
Revises: 0034_release_index
Create Date: 2026-12-02 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0035_result_vendor'
down_revision: str | Sequence[str] | None = '0034_release_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same text as the model's index (SQLite uses a partial index only when the query's WHERE
# holds these very terms, literals included: lims.models.results.POSITIVE_SCREEN)
POSITIVE_SCREEN = "verdict IN ('positive', 'noncompliant') AND retest_of_id IS NULL"


def upgrade() -> None:
    # Grading a batch's vendors read every result of their samples in a 365-day window (1.2 M
    # rows for a 5 000-reading batch at 10 M results: 15 s of the batch's 21 s). The vendor,
    # copied from the sample (never changed once stored) like market_id, lets grading read a
    # vendor's positive screens from a small partial index and its newest result in one seek.
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        # every row is rewritten: with the secondary indexes in place each new row version also
        # goes into every one of them, one entry at a time (a 10 M-row table took over 35 min).
        # They are dropped for the update and built again after it (sorted, in bulk); the
        # foreign key is checked once at the end instead of per row
        op.add_column('test_result', sa.Column('vendor_id', sa.Integer(), nullable=True))
        plain = op.get_bind().exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'test_result' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'test_result'::regclass)").all()
        for name, _ddl in plain:
            op.execute(f'DROP INDEX "{name}"')
        op.execute('UPDATE test_result AS t SET vendor_id = s.vendor_id FROM sample AS s '
                   'WHERE s.id = t.sample_id AND s.vendor_id IS NOT NULL')
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, ddl in plain:
            op.execute(ddl)
        op.create_foreign_key('test_result_vendor_id_fkey', 'test_result', 'vendor',
                              ['vendor_id'], ['id'])
    else:   # in place (a batch rebuild of test_result fails with foreign keys on; see 0016)
        op.execute('ALTER TABLE test_result ADD COLUMN vendor_id INTEGER REFERENCES vendor (id)')
        op.execute('UPDATE test_result SET vendor_id = (SELECT s.vendor_id FROM sample AS s '
                   'WHERE s.id = test_result.sample_id) WHERE sample_id IN '
                   '(SELECT id FROM sample WHERE vendor_id IS NOT NULL)')
    op.create_index('ix_test_result_vendor_tested', 'test_result', ['vendor_id', 'tested_at'])
    op.create_index('ix_test_result_vendor_positive', 'test_result', ['vendor_id', 'tested_at'],
                    sqlite_where=sa.text(POSITIVE_SCREEN),
                    postgresql_where=sa.text(POSITIVE_SCREEN))


def downgrade() -> None:
    op.drop_index('ix_test_result_vendor_positive', table_name='test_result')
    op.drop_index('ix_test_result_vendor_tested', table_name='test_result')
    with op.batch_alter_table('test_result', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'sqlite':
            batch_op.drop_constraint('test_result_vendor_id_fkey', type_='foreignkey')
        batch_op.drop_column('vendor_id')
