"""Issue 20's indexes, found by EXPLAIN over 10,000,000 codes (docs/decisions/0021): a
shipment's and an order's boxes, the box list by state, the batch and brand figures, the
redemption list, a store's diversion alerts. The two full-table indexes on product codes'
distributor and store (mostly NULL: every item nobody scanned) give way to partial ones."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.infra.indexes import WhereIndex
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0034_analytics')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ConsumerCoupon',
            index=WhereIndex(fields=['brand_id', 'redeemed_at', 'id'], name='idx_consumer_coupons_redeemed', where="status = 'redeemed'"),
        ),
        ops.AddIndex(
            model_name='DiversionAlert',
            index=Index(fields=['store_id', 'id']),
        ),
        ops.RemoveIndex(
            model_name='ProductCode',
            name=None,
            fields=['distributor_id', 'kind'],
        ),
        ops.RemoveIndex(
            model_name='ProductCode',
            name=None,
            fields=['store_id', 'kind'],
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['brand_id', 'id', 'distributor_id', 'store_id'], name='idx_product_codes_box_list', where="kind = 'box'"),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['batch_id', 'distributor_id', 'store_id'], name='idx_product_codes_batch_boxes', where="kind = 'box'"),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['batch_id', 'box_id'], name='idx_product_codes_sold', where='sold_at IS NOT NULL'),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['shipment_id', 'id'], name='idx_product_codes_shipment', where='shipment_id IS NOT NULL'),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['order_id', 'id'], name='idx_product_codes_order', where='order_id IS NOT NULL'),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['distributor_id'], name='idx_product_codes_distributor', where='distributor_id IS NOT NULL'),
        ),
        ops.AddIndex(
            model_name='ProductCode',
            index=WhereIndex(fields=['store_id'], name='idx_product_codes_store', where='store_id IS NOT NULL'),
        ),
    ]
