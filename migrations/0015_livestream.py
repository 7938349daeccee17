from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_subscribe_grants')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LiveSession',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='live_sessions', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='live_sessions', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=64)),
                ('cover_url', fields.CharField(default='', max_length=512)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharField(default='scheduled', max_length=10)),
                ('audience', fields.CharField(max_length=8)),
                ('audience_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('invited_count', fields.IntField(default=0)),
                ('created_by_id', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('peak_viewers', fields.IntField(default=0)),
            ],
            options={'table': 'live_sessions', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'distributor_id', 'starts_at'])], 'pk_attr': 'id', 'table_description': 'One session. The stores invited are fixed when it is scheduled (LiveInvitation).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LiveInvitation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='live_invitations', on_delete=OnDelete.RESTRICT)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'live_invitations', 'app': 'models', 'unique_together': (('session', 'store'),), 'indexes': [Index(fields=['store_id', 'session_id'])], 'pk_attr': 'id', 'table_description': 'A store invited to a session: only these may join its room.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LiveProduct',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='live_products', on_delete=OnDelete.RESTRICT)),
                ('live_price_fen', fields.BigIntField()),
                ('live_stock', fields.IntField()),
                ('sold', fields.IntField(default=0)),
                ('sort', fields.IntField(default=0)),
            ],
            options={'table': 'live_products', 'app': 'models', 'unique_together': (('session', 'sku'),), 'pk_attr': 'id', 'table_description': 'A SKU on sale in the session: its live price and the stock set aside for the session.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RedPacketRain',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('session', fields.ForeignKeyField('models.LiveSession', source_field='session_id', db_constraint=True, to_field='id', related_name='rains', on_delete=OnDelete.CASCADE)),
                ('total_fen', fields.BigIntField()),
                ('count', fields.IntField()),
                ('duration_seconds', fields.IntField(default=30)),
                ('status', fields.CharField(default='planned', max_length=8)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('granted_fen', fields.BigIntField(default=0)),
                ('granted_count', fields.IntField(default=0)),
                ('returned_fen', fields.BigIntField(default=0)),
            ],
            options={'table': 'red_packet_rains', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A rain: `total_fen` split into `count` packets when the host starts it. What no store'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RedPacketGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rain', fields.ForeignKeyField('models.RedPacketRain', source_field='rain_id', db_constraint=True, to_field='id', related_name='grants', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='red_packets', on_delete=OnDelete.RESTRICT)),
                ('amount_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'red_packet_grants', 'app': 'models', 'unique_together': (('rain', 'store'),), 'pk_attr': 'id', 'table_description': 'One packet won: one per store per rain (the unique key makes a replay harmless).'},
            bases=['Model'],
        ),
    ]
