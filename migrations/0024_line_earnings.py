from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Orders placed before this migration keep 0 on every line: a refund of their units then
# takes back the order's earnings by the money share, as it did when they were placed.


class Migration(migrations.Migration):
    dependencies = [('models', '0023_unique_user_phone')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OrderLine',
            name='points_earned',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='OrderLine',
            name='rebate_fen',
            field=fields.BigIntField(default=0, db_default=0),
        ),
    ]
