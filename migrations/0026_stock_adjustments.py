from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0025_order_shipping')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StockAdjustment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='stock_adjustments', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='stock_adjustments', on_delete=OnDelete.RESTRICT)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='stock_adjustments', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='stock_adjustments', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(max_length=16)),
                ('note', fields.CharField(default='', max_length=200)),
                ('delta', fields.BigIntField()),
                ('stock_before', fields.BigIntField()),
                ('stock_after', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stock_adjustments', 'app': 'models', 'indexes': [Index(fields=['distributor_id', 'sku_id', 'id'])], 'pk_attr': 'id', 'table_description': "A change of a distributor's stock by hand: who, why, the figure before and after."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='DistributorSku',
            name='low_stock_threshold',
            field=fields.BigIntField(null=True),
        ),
    ]
