from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_promotions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='accounts', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='accounts', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=8)),
                ('balance', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_accounts', 'app': 'models', 'unique_together': (('store', 'kind'),), 'pk_attr': 'id', 'table_description': "One balance of one store. The balance is the sum of the account's entries, kept as a"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('cause', fields.CharField(max_length=12)),
                ('cause_id', fields.BigIntField()),
                ('order_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_entries', 'app': 'models', 'unique_together': (('account', 'cause', 'cause_id'),), 'indexes': [Index(fields=['account_id', 'order_id'])], 'pk_attr': 'id', 'table_description': 'One movement, never changed: how much, the balance after it, and its cause. One entry'},
            bases=['Model'],
        ),
    ]
