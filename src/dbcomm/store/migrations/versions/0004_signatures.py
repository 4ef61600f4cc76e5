"""signatures: signed reports and signing identities

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_pdf', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('signed_sha256', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('signature_level', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('signed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('signed_by', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sealed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sealed_by', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('signature_layout', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_report_supersedes_id_report'), 'report', ['supersedes_id'], ['id'],
                                    ondelete='SET NULL')

    op.create_table('signing_identity',
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=False),
    sa.Column('module', sa.Text(), nullable=False),
    sa.Column('token_label', sa.Text(), nullable=False),
    sa.Column('key_label', sa.Text(), nullable=False),
    sa.Column('cert_der', sa.LargeBinary(), nullable=True),
    sa.Column('holder', sa.Text(), nullable=False),
    sa.Column('issuer', sa.Text(), nullable=False),
    sa.Column('not_before', sa.DateTime(), nullable=True),
    sa.Column('not_after', sa.DateTime(), nullable=True),
    sa.Column('image_png', sa.LargeBinary(), nullable=True),
    sa.Column('seal_diameter_mm', sa.Float(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_identity')),
    sa.UniqueConstraint('uuid', name=op.f('uq_signing_identity_uuid'))
    )


def downgrade() -> None:
    op.drop_table('signing_identity')
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_supersedes_id_report'), type_='foreignkey')
        for column in ('supersedes_id', 'signature_layout', 'sealed_by', 'sealed_at', 'signed_by', 'signed_at',
                       'signature_level', 'signed_sha256', 'signed_pdf'):
            batch_op.drop_column(column)
