from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_catalog_ordering_idempotency')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('method', fields.CharField(max_length=8)),
                ('status', fields.CharField(max_length=12)),
                ('amount_fen', fields.BigIntField()),
                ('refund_reserved_fen', fields.BigIntField(default=0)),
                ('out_trade_no', fields.CharField(unique=True, max_length=32)),
                ('sp_mchid', fields.CharField(null=True, max_length=32)),
                ('sub_mchid', fields.CharField(null=True, max_length=32)),
                ('prepay_id', fields.CharField(null=True, max_length=64)),
                ('transaction_id', fields.CharField(null=True, unique=True, max_length=32)),
                ('payer_total_fen', fields.BigIntField(null=True)),
                ('flagged_reason', fields.CharField(null=True, max_length=200)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='recorded_payments', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(default='', max_length=200)),
                ('succeeded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payments', 'app': 'models', 'indexes': [Index(fields=['order_id', 'status']), Index(fields=['method', 'status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT)),
                ('out_refund_no', fields.CharField(unique=True, max_length=32)),
                ('refund_id', fields.CharField(null=True, max_length=64)),
                ('amount_fen', fields.BigIntField()),
                ('reason', fields.CharField(max_length=80)),
                ('status', fields.CharField(max_length=12)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name='requested_refunds', on_delete=OnDelete.SET_NULL)),
                ('succeeded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refunds', 'app': 'models', 'indexes': [Index(fields=['status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('refund', fields.ForeignKeyField('models.Refund', source_field='refund_id', null=True, db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=32)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payment_events', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The history of a payment or refund: every request, answer and notification.'},
            bases=['Model'],
        ),
    ]
