"""sheet source: the file, sheet and row each activity imported from a spreadsheet came from

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 19:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A table of its own rather than columns on ``activity``: the register's table (100,000
    # rows at a province) is neither copied nor widened, and only imported activities have a row.
    op.create_table('sheet_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('row_key', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('sheet', sa.Text(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_sheet_source_activity_id_activity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sheet_source')),
    sa.UniqueConstraint('row_key', name=op.f('uq_sheet_source_row_key'))
    )
    with op.batch_alter_table('sheet_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_source_activity_id'), ['activity_id'], unique=False)
    # Plain portable operations: the same on SQLite and on a PostgreSQL server (no search index,
    # trigger or sort key here, which is what 0001 and 0002 needed a server branch for).


def downgrade() -> None:
    with op.batch_alter_table('sheet_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sheet_source_activity_id'))
    op.drop_table('sheet_source')
