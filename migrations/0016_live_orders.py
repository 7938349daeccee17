from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_livestream')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LiveOrder',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('product', fields.ForeignKeyField('models.LiveProduct', source_field='product_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='live_orders', on_delete=OnDelete.RESTRICT)),
                ('order_id', fields.BigIntField(unique=True)),
                ('quantity', fields.IntField()),
                ('amount_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_orders', 'app': 'models', 'indexes': [Index(fields=['session_id', 'id'])], 'pk_attr': 'id', 'table_description': 'An order a store placed in the room: which session and product it came from (the'},
            bases=['Model'],
        ),
    ]
