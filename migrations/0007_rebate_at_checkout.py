from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_coupons_mall_lottery')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Order',
            name='rebate_used_fen',
            field=fields.BigIntField(default=0, db_default=0),
        ),
    ]
