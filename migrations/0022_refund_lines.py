from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0021_bundle_sets')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RefundLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('refund', fields.ForeignKeyField('models.Refund', source_field='refund_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.RESTRICT)),
                ('order_line', fields.ForeignKeyField('models.OrderLine', source_field='order_line_id', db_constraint=True, to_field='id', related_name='refund_lines', on_delete=OnDelete.RESTRICT)),
                ('quantity', fields.IntField()),
                ('amount_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refund_lines', 'app': 'models', 'unique_together': (('refund', 'order_line'),), 'pk_attr': 'id', 'table_description': 'Units of an order line a refund pays back (damaged, missing), and what they paid.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OrderLine',
            name='refunded_fen',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='OrderLine',
            name='refunded_quantity',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Refund',
            name='restock',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
