from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# On PostgreSQL the behaviour events are partitioned by month of `day`: the table Tortoise
# created is remade as a partitioned one with the same columns, defaults and indexes, its
# primary key widened to (id, day) as partitioning requires. The partitions themselves are
# made ahead of the rows by backend/analytics/partitions.py. SQLite keeps the plain table.
PARTITION_EVENTS = [
    "ALTER SEQUENCE analytics_events_id_seq OWNED BY NONE",
    "CREATE TABLE analytics_events_parted (LIKE analytics_events INCLUDING DEFAULTS)"
    " PARTITION BY RANGE (day)",
    "DROP TABLE analytics_events",
    "ALTER TABLE analytics_events_parted RENAME TO analytics_events",
    "ALTER SEQUENCE analytics_events_id_seq OWNED BY analytics_events.id",
    "ALTER TABLE analytics_events ADD PRIMARY KEY (id, day)",
]


async def partition_events(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect != "postgres":
        return
    _, rows = await client.execute_query(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'analytics_events'"
        " AND indexname <> 'analytics_events_pkey'"
    )
    for statement in PARTITION_EVENTS:
        await client.execute_script(statement)
    for row in rows:
        await client.execute_script(row["indexdef"])

class Migration(migrations.Migration):
    dependencies = [('models', '0033_product_codes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AnalyticsSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField(unique=True)),
                ('dormant_days', fields.IntField(default=60)),
                ('rfm', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reminders_enabled', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': "A brand's analytics settings: when a store counts as dormant, its RFM thresholds"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BehaviourEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('store_id', fields.IntField(null=True)),
                ('user_id', fields.IntField()),
                ('kind', fields.CharField(max_length=16)),
                ('page', fields.CharField(default='', max_length=64)),
                ('product_id', fields.IntField(null=True)),
                ('sku_id', fields.IntField(null=True)),
                ('term', fields.CharField(null=True, max_length=50)),
                ('results', fields.IntField(null=True)),
                ('client_id', fields.CharField(max_length=40)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('day', fields.DateField()),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_events', 'app': 'models', 'unique_together': (('user_id', 'client_id', 'day'),), 'indexes': [Index(fields=['brand_id', 'day', 'kind']), Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'One thing a store user did in the mini-program, sent in a batch and kept once per'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderFact',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_id', fields.BigIntField(unique=True)),
                ('brand_id', fields.IntField()),
                ('distributor_id', fields.IntField()),
                ('store_id', fields.IntField()),
                ('channel', fields.CharField(max_length=8)),
                ('day', fields.DateField()),
                ('counted', fields.BooleanField(default=False)),
                ('region_id', fields.IntField(default=0)),
                ('tier', fields.CharField(default='', max_length=1)),
                ('gmv_fen', fields.BigIntField(default=0)),
                ('units', fields.BigIntField(default=0)),
                ('lines', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_order_facts', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'day']), Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'What one order adds to the figures, as last applied: the inputs of its contribution'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReorderCycle',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('store_id', fields.IntField()),
                ('sku_id', fields.IntField()),
                ('orders', fields.IntField()),
                ('interval_days', fields.IntField()),
                ('source', fields.CharField(max_length=8)),
                ('last_day', fields.DateField()),
                ('due_day', fields.DateField()),
                ('reminded_due', fields.DateField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_reorders', 'app': 'models', 'unique_together': (('store_id', 'sku_id'),), 'indexes': [Index(fields=['brand_id', 'due_day'])], 'pk_attr': 'id', 'table_description': "A store's usual reorder interval for one SKU, from its own history (or its"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SalesRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand_id', fields.IntField()),
                ('distributor_id', fields.IntField()),
                ('grain', fields.CharField(max_length=5)),
                ('period', fields.DateField()),
                ('dim', fields.CharField(max_length=12)),
                ('key', fields.CharField(max_length=24)),
                ('channel', fields.CharField(max_length=8)),
                ('orders', fields.IntField(default=0)),
                ('units', fields.BigIntField(default=0)),
                ('list_fen', fields.BigIntField(default=0)),
                ('discount_fen', fields.BigIntField(default=0)),
                ('gmv_fen', fields.BigIntField(default=0)),
            ],
            options={'table': 'analytics_sales', 'app': 'models', 'unique_together': (('brand_id', 'distributor_id', 'grain', 'dim', 'period', 'key', 'channel'),), 'pk_attr': 'id', 'table_description': 'Sums of counted orders (paid, not cancelled) for one brand or distributor, grain,'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SalesTask',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='sales_tasks', on_delete=OnDelete.CASCADE)),
                ('salesperson', fields.ForeignKeyField('models.Salesperson', source_field='salesperson_id', db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.CASCADE)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='sales_tasks', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=16)),
                ('sku_id', fields.IntField(null=True)),
                ('text', fields.CharField(max_length=200)),
                ('due_day', fields.DateField()),
                ('status', fields.CharField(default='open', max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sales_tasks', 'app': 'models', 'unique_together': (('salesperson', 'store', 'kind', 'sku_id', 'due_day'),), 'indexes': [Index(fields=['salesperson_id', 'status', 'due_day'])], 'pk_attr': 'id', 'table_description': "A task in a salesperson's list, such as a store due to reorder a SKU."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StoreStats',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store_id', fields.IntField(unique=True)),
                ('brand_id', fields.IntField()),
                ('distributor_id', fields.IntField()),
                ('first_day', fields.DateField(null=True)),
                ('last_day', fields.DateField(null=True)),
                ('orders', fields.IntField(default=0)),
                ('gmv_fen', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_stores', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'last_day']), Index(fields=['brand_id', 'first_day'])], 'pk_attr': 'id', 'table_description': "A store's counted orders as a whole: first and last order day, how many, GMV."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StreamCursor',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('position', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_cursors', 'app': 'models', 'pk_attr': 'name', 'table_description': 'How far a refresh has read a stream of raw rows (it reads again a little before).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='LiveInvitation',
            name='joined_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(partition_events, reverse_code=ops.RunPython.noop),
        ops.AddIndex(
            model_name='Order',
            index=Index(fields=['updated_at']),
        ),
        ops.AddIndex(
            model_name='OrderLine',
            index=Index(fields=['order_id']),
        ),
    ]
