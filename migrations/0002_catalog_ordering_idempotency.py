from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Category',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='categories', on_delete=OnDelete.RESTRICT)),
                ('parent', fields.ForeignKeyField('models.Category', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=32)),
                ('sort', fields.IntField(default=0)),
            ],
            options={'table': 'categories', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='IdempotencyRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=32)),
                ('owner', fields.CharField(max_length=48)),
                ('key', fields.CharField(max_length=64)),
                ('request_hash', fields.CharField(max_length=64)),
                ('response_status', fields.IntField(null=True)),
                ('response_body', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotency_records', 'app': 'models', 'unique_together': (('scope', 'owner', 'key'),), 'pk_attr': 'id', 'table_description': 'The first result of a create request, replayed for the same key and body.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_no', fields.CharField(unique=True, max_length=24)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('salesperson', fields.ForeignKeyField('models.Salesperson', source_field='salesperson_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.SET_NULL)),
                ('placed_by', fields.ForeignKeyField('models.User', source_field='placed_by_id', db_constraint=True, to_field='id', related_name='placed_orders', on_delete=OnDelete.RESTRICT)),
                ('channel', fields.CharField(max_length=8)),
                ('status', fields.CharField(default='pending_payment', max_length=16)),
                ('list_amount_fen', fields.BigIntField()),
                ('discount_fen', fields.BigIntField(default=0)),
                ('payable_fen', fields.BigIntField()),
                ('pay_deadline', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('logistics_note', fields.CharField(null=True, max_length=200)),
                ('sign_photo_url', fields.CharField(null=True, max_length=500)),
                ('cancel_reason', fields.CharField(null=True, max_length=200)),
                ('reordered_from', fields.ForeignKeyField('models.Order', source_field='reordered_from_id', null=True, db_constraint=True, to_field='id', related_name='reorders', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'orders', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'created_at']), Index(fields=['distributor_id', 'status']), Index(fields=['store_id', 'created_at']), Index(fields=['status', 'pay_deadline'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='order_events', on_delete=OnDelete.SET_NULL)),
                ('actor_role', fields.CharField(max_length=32)),
                ('from_status', fields.CharField(null=True, max_length=16)),
                ('to_status', fields.CharField(max_length=16)),
                ('note', fields.CharField(default='', max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'order_events', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One status change: who, when, from what to what, and why.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.RESTRICT)),
                ('category', fields.ForeignKeyField('models.Category', source_field='category_id', db_constraint=True, to_field='id', related_name='products', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(db_index=True, max_length=64)),
                ('description', fields.TextField(default='', unique=False)),
                ('images', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'products', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Sku',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.RESTRICT)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=64)),
                ('spec', fields.CharField(default='', max_length=64)),
                ('unit', fields.CharField(default='件', max_length=8)),
                ('barcode', fields.CharField(null=True, max_length=32)),
                ('list_price_fen', fields.BigIntField()),
                ('case_size', fields.IntField(default=1)),
                ('min_order_qty', fields.IntField(default=1)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'skus', 'app': 'models', 'unique_together': (('brand', 'barcode'),), 'pk_attr': 'id', 'table_description': 'One sellable variant. Prices are integer fen, quantities are in `unit`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CartItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='cart_items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='cart_items', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'cart_items', 'app': 'models', 'unique_together': (('store', 'sku'),), 'pk_attr': 'id', 'table_description': "A store's server-side cart: every owner and clerk of the store sees the same one."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DistributorSku',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='distributor_skus', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='skus', on_delete=OnDelete.RESTRICT)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='distributor_stock', on_delete=OnDelete.RESTRICT)),
                ('is_available', fields.BooleanField(default=True)),
                ('stock', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'distributor_skus', 'app': 'models', 'unique_together': (('distributor', 'sku'),), 'pk_attr': 'id', 'table_description': 'Whether a distributor sells a SKU, and how many units it has left to sell.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='order_lines', on_delete=OnDelete.RESTRICT)),
                ('product_name', fields.CharField(max_length=64)),
                ('sku_name', fields.CharField(max_length=64)),
                ('unit', fields.CharField(max_length=8)),
                ('quantity', fields.IntField()),
                ('list_unit_price_fen', fields.BigIntField()),
                ('unit_price_fen', fields.BigIntField()),
                ('list_amount_fen', fields.BigIntField()),
                ('discount_fen', fields.BigIntField()),
                ('payable_fen', fields.BigIntField()),
            ],
            options={'table': 'order_lines', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What was bought, as it was named and priced at the moment of ordering.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PriceEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='price_entries', on_delete=OnDelete.RESTRICT)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='price_entries', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', null=True, db_constraint=True, to_field='id', related_name='price_entries', on_delete=OnDelete.RESTRICT)),
                ('store_tier', fields.CharField(null=True, max_length=1)),
                ('min_qty', fields.IntField(default=1)),
                ('unit_price_fen', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'price_entries', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'sku_id'])], 'pk_attr': 'id', 'table_description': 'A unit price for a SKU, optionally for one distributor and/or store tier, from a quantity.'},
            bases=['Model'],
        ),
    ]
