from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_live_orders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LiveCouponDrop',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='coupon_drops', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.BigIntField()),
                ('quantity', fields.IntField()),
                ('claimed', fields.IntField(default=0)),
                ('status', fields.CharField(default='planned', max_length=8)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_coupon_drops', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A coupon drop: `quantity` coupons of a template, first come first served, one per'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LiveCouponClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('drop', fields.ForeignKeyField('models.LiveCouponDrop', source_field='drop_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='live_coupon_claims', on_delete=OnDelete.RESTRICT)),
                ('coupon_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_coupon_claims', 'app': 'models', 'unique_together': (('drop', 'store'),), 'pk_attr': 'id', 'table_description': 'A coupon a store took from a drop (the coupon is in its wallet).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LiveDraw',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='draws', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=32)),
                ('prizes', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('eligibility', fields.CharField(max_length=8)),
                ('status', fields.CharField(default='planned', max_length=10)),
                ('seed_hash', fields.CharField(default='', max_length=64)),
                ('seed', fields.CharField(default='', max_length=64)),
                ('eligible', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('announced_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('drawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_draws', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A lottery draw anyone can audit: the hash of a secret seed is published when it is'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LiveDrawWinner',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('draw', fields.ForeignKeyField('models.LiveDraw', source_field='draw_id', db_constraint=True, to_field='id', related_name='winners', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='live_draw_wins', on_delete=OnDelete.RESTRICT)),
                ('prize', fields.CharField(max_length=32)),
                ('rank', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_draw_winners', 'app': 'models', 'unique_together': (('draw', 'store'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
