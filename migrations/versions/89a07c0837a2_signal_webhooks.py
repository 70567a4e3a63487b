"""signal webhooks: a bot's secret signal URL and the signals it received

The token is kept as its SHA-256 (the lookup) and encrypted (the owner reads the URL again);
bots made before have no URL until their strategy takes signals.

Revision ID: 89a07c0837a2
Revises: 5c1d0e7f3a29
Create Date: 2026-12-06 19:34:14.275553

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '89a07c0837a2'
down_revision = '5c1d0e7f3a29'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bot_signals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.Enum('buy', 'sell', 'start_deal', 'close', name='signalaction', native_enum=False, length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'ignored', name='signalstatus', native_enum=False, length=16), nullable=False),
    sa.Column('outcome', sa.String(length=500), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('remote_addr', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], name=op.f('fk_bot_signals_bot_id_bots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_signals'))
    )
    with op.batch_alter_table('bot_signals', schema=None) as batch_op:
        batch_op.create_index('ix_bot_signals_bot_id_id', ['bot_id', 'id'], unique=False)
        batch_op.create_index('ix_bot_signals_bot_id_status_id', ['bot_id', 'status', 'id'], unique=False)

    with op.batch_alter_table('bots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signal_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('signal_token_encrypted', sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_bots_signal_token_hash'), ['signal_token_hash'])



def downgrade():
    with op.batch_alter_table('bots', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_bots_signal_token_hash'), type_='unique')
        batch_op.drop_column('signal_token_encrypted')
        batch_op.drop_column('signal_token_hash')

    with op.batch_alter_table('bot_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_signals_bot_id_status_id')
        batch_op.drop_index('ix_bot_signals_bot_id_id')

    op.drop_table('bot_signals')
