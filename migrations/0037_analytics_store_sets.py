"""Issue 21's store sets: the stores that ordered in each day and month, all and per store
tag, as Roaring bitmaps with their sums (analytics_store_sets), so active and dormant stores
and the tag breakdown read a few dozen rows instead of a row per store; and the marks of
stores whose tags changed (analytics_tag_changes), which a minute job derives again. Empty
until `b2bc analytics-rebuild` (or the refresh, for the days it touches) fills them."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0036_analytics_event_days')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StoreSet',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('distributor_id', fields.IntField()),
                ('grain', fields.CharField(max_length=5)),
                ('period', fields.DateField()),
                ('dim', fields.CharField(max_length=4)),
                ('key', fields.CharField(max_length=32)),
                ('channel', fields.CharField(max_length=8)),
                ('stores', fields.BinaryField()),
                ('orders', fields.IntField(default=0)),
                ('units', fields.BigIntField(default=0)),
                ('gmv_fen', fields.BigIntField(default=0)),
            ],
            options={'table': 'analytics_store_sets', 'app': 'models', 'unique_together': (('brand_id', 'distributor_id', 'grain', 'dim', 'period', 'key', 'channel'),), 'indexes': [Index(fields=['brand_id', 'grain', 'period'])], 'pk_attr': 'id', 'table_description': "The stores with a counted order in one brand's (or distributor's) day or month, all of"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TagChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField(db_index=True)),
                ('store_id', fields.IntField(unique=True)),
                ('version', fields.IntField(default=1)),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_tag_changes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A store whose tags changed since the store sets of its order days were last derived:'},
            bases=['Model'],
        ),
    ]
