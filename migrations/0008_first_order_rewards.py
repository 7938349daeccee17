from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

# Stores that already had paid orders are past their first: mark them so, or their next
# paid order would bring first-order rewards.
PAID = "('paid', 'accepted', 'shipped', 'delivered', 'completed')"
BACKFILL = [
    "UPDATE stores SET first_paid_order_id = (SELECT MIN(o.id) FROM orders o"
    f" WHERE o.store_id = stores.id AND o.status IN {PAID})",
    "UPDATE stores SET first_self_paid_order_id = (SELECT MIN(o.id) FROM orders o"
    f" WHERE o.store_id = stores.id AND o.channel = 'self' AND o.status IN {PAID})",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0007_rebate_at_checkout')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Incentives',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.OneToOneField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='incentives', on_delete=OnDelete.RESTRICT)),
                ('first_order_cashback_fen', fields.BigIntField(default=0)),
                ('first_order_min_fen', fields.BigIntField(default=0)),
                ('invitation_reward_fen', fields.BigIntField(default=0)),
                ('salesperson_first_order_points', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_incentives', 'app': 'models', 'pk_attr': 'id', 'table_description': "A brand's standing rewards, all optional (0: none). A store's first paid order earns"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartyAccount',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='party_accounts', on_delete=OnDelete.RESTRICT)),
                ('party', fields.CharField(max_length=11)),
                ('party_id', fields.BigIntField()),
                ('kind', fields.CharField(max_length=8)),
                ('balance', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_party_accounts', 'app': 'models', 'unique_together': (('party', 'party_id', 'kind'),), 'pk_attr': 'id', 'table_description': "One balance of a salesperson or a distributor: the same rules as a store's Account,"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartyEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.PartyAccount', source_field='account_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('cause', fields.CharField(max_length=12)),
                ('cause_id', fields.BigIntField()),
                ('order_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_party_entries', 'app': 'models', 'unique_together': (('account', 'cause', 'cause_id'),), 'pk_attr': 'id', 'table_description': 'One movement of a PartyAccount, never changed, one per account and cause.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Store',
            name='first_paid_order_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Store',
            name='first_self_paid_order_id',
            field=fields.BigIntField(null=True),
        ),
        ops.RunSQL(BACKFILL, reverse_sql=["SELECT 1"]),
    ]
