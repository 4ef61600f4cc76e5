"""exchange: received reports, the origin of received activities, sent reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('received_report',
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('sender_office_uuid', sa.String(length=36), nullable=False),
    sa.Column('sender_name', sa.Text(), nullable=False),
    sa.Column('report_uuid', sa.String(length=36), nullable=False),
    sa.Column('plan_code', sa.String(length=60), nullable=False),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=True),
    sa.Column('signers', sa.Text(), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('activity_count', sa.Integer(), nullable=False),
    sa.Column('signed_pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('package_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_by', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.Text(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['sender_id'], ['organisation.id'], name=op.f('fk_received_report_sender_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['received_report.id'], name=op.f('fk_received_report_supersedes_id_received_report'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_received_report')),
    sa.UniqueConstraint('uuid', name=op.f('uq_received_report_uuid'))
    )
    with op.batch_alter_table('received_report', schema=None) as batch_op:
        batch_op.create_index('ix_received_sender_period', ['sender_id', 'period_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_received_report_report_uuid'), ['report_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_received_report_pdf_sha256'), ['pdf_sha256'], unique=False)

    # Plain ALTER TABLE (no table copy): the activity table can hold 100,000 rows, and its
    # full-text index triggers must stay in place.
    op.execute("ALTER TABLE activity ADD COLUMN origin_id INTEGER")
    op.execute("ALTER TABLE activity ADD COLUMN origin_report_id INTEGER")
    op.create_index(op.f('ix_activity_origin_id'), 'activity', ['origin_id'], unique=False)

    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        for column in ('decision_note', 'decided_by', 'decided_at', 'sent_at'):
            batch_op.drop_column(column)
    op.drop_index(op.f('ix_activity_origin_id'), table_name='activity')
    op.execute("ALTER TABLE activity DROP COLUMN origin_report_id")
    op.execute("ALTER TABLE activity DROP COLUMN origin_id")
    with op.batch_alter_table('received_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_received_report_pdf_sha256'))
        batch_op.drop_index(batch_op.f('ix_received_report_report_uuid'))
        batch_op.drop_index('ix_received_sender_period')
    op.drop_table('received_report')
