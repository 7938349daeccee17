from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0019_live_stream_url')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['account_id', 'id']),
        ),
        ops.AddField(
            model_name='MallItem',
            name='physical',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Redemption',
            name='delivery_address',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='Redemption',
            name='delivery_name',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='Redemption',
            name='delivery_phone',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddIndex(
            model_name='StoreApplication',
            index=Index(fields=['inviter_salesperson_id', 'id']),
        ),
    ]
