from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Shipping names its carrier and tracking number apart (the console's ship and batch ship);
# logistics_note keeps the free text older clients send and read.


class Migration(migrations.Migration):
    dependencies = [('models', '0024_line_earnings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Order',
            name='carrier',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Order',
            name='tracking_no',
            field=fields.CharField(null=True, max_length=40),
        ),
    ]
