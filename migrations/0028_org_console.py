from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('models', '0026_stock_adjustments')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Distributor',
            name='contact_name',
            field=fields.CharField(default='', max_length=32),
        ),
    ]
