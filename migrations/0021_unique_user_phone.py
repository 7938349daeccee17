from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0020_mall_delivery_and_paging_indexes')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='User',
            name='phone',
            field=fields.CharField(null=True, unique=True, max_length=20),
        ),
    ]
