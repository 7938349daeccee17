from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_payments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Promotion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=64)),
                ('status', fields.CharField(default='draft', max_length=8)),
                ('reward_kind', fields.CharField(max_length=16)),
                ('stacking', fields.CharField(max_length=9)),
                ('step', fields.SmallIntField()),
                ('priority', fields.IntField(default=0)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('per_store_limit', fields.IntField(null=True)),
                ('budget_fen', fields.BigIntField(null=True)),
                ('committed_fen', fields.BigIntField(default=0)),
                ('rule', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'promotions', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'status', 'ends_at'])], 'pk_attr': 'id', 'table_description': 'One promotion. The rule (audience, channels, scope, conditions, reward) is kept as the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PromotionUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('promotion', fields.ForeignKeyField('models.Promotion', source_field='promotion_id', db_constraint=True, to_field='id', related_name='uses', on_delete=OnDelete.RESTRICT)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='promotion_uses', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='promotion_uses', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharField(max_length=9)),
                ('amount_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'promotion_uses', 'app': 'models', 'unique_together': (('promotion', 'order', 'kind'),), 'indexes': [Index(fields=['store_id', 'promotion_id'])], 'pk_attr': 'id', 'table_description': "One movement of a promotion's budget for one order, never changed once written: a take"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Order',
            name='points_earned',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Order',
            name='promotion_discount_fen',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Order',
            name='promotions',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Order',
            name='rebate_fen',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='OrderLine',
            name='adjustments',
            field=fields.JSONField(default=list, db_default='[]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OrderLine',
            name='gift_promotion_id',
            field=fields.BigIntField(null=True),
        ),
    ]
