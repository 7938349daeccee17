"""Issue 21's daily rollup of behaviour events (docs/decisions/0022): the funnel, search
terms and pages reports scanned up to 25 million raw events a year with COUNT(DISTINCT)
and took seconds; `analytics_event_days` keeps each day's (and each finished month's) sums
with the sets of users and stores as Roaring bitmaps, and `analytics_event_marks` the days
whose events changed since they were summed (written in the ingest's transaction)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0035_codes_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EventDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('distributor_id', fields.IntField()),
                ('kind', fields.CharField(max_length=16)),
                ('grain', fields.CharField(max_length=5)),
                ('day', fields.DateField()),
                ('key', fields.CharField(max_length=64)),
                ('events', fields.IntField(default=0)),
                ('zero_results', fields.IntField(default=0)),
                ('term', fields.CharField(default='', max_length=50)),
                ('users', fields.BinaryField()),
                ('stores', fields.BinaryField()),
            ],
            options={'table': 'analytics_event_days', 'app': 'models', 'unique_together': (('brand_id', 'distributor_id', 'kind', 'grain', 'day', 'key'),), 'indexes': [Index(fields=['grain', 'day', 'brand_id'])], 'pk_attr': 'id', 'table_description': "The behaviour events of one brand (or one distributor's stores), day or month, and"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EventDayMark',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('day', fields.DateField()),
                ('generation', fields.BigIntField(default=1)),
                ('marked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_event_marks', 'app': 'models', 'unique_together': (('brand_id', 'day'),), 'pk_attr': 'id', 'table_description': "A brand's day that received events since its `EventDay` rows were last summed. Each"},
            bases=['Model'],
        ),
    ]
