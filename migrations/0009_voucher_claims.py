from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_first_order_rewards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='VoucherClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='voucher_claims', on_delete=OnDelete.RESTRICT)),
                ('distributor_id', fields.BigIntField()),
                ('status', fields.CharField(default='submitted', max_length=9)),
                ('amount_fen', fields.BigIntField()),
                ('vouchers', fields.IntField()),
                ('note', fields.CharField(default='', max_length=200)),
                ('reject_reason', fields.CharField(default='', max_length=200)),
                ('submitted_by', fields.ForeignKeyField('models.User', source_field='submitted_by_id', null=True, db_constraint=True, to_field='id', related_name='voucher_claims', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'voucher_claims', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'status']), Index(fields=['distributor_id', 'id'])], 'pk_attr': 'id', 'table_description': "A distributor's claim (核销) on the brand for the exchange vouchers used in orders it"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VoucherClaimItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('claim', fields.ForeignKeyField('models.VoucherClaim', source_field='claim_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.RESTRICT)),
                ('coupon', fields.ForeignKeyField('models.Coupon', source_field='coupon_id', db_constraint=True, to_field='id', related_name='claim_items', on_delete=OnDelete.RESTRICT)),
                ('order_id', fields.BigIntField()),
                ('amount_fen', fields.BigIntField()),
            ],
            options={'table': 'voucher_claim_items', 'app': 'models', 'unique_together': (('coupon',),), 'pk_attr': 'id', 'table_description': 'One voucher in a claim, with the order it was used in and its value there. A voucher'},
            bases=['Model'],
        ),
    ]
