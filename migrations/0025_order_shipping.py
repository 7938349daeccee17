from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Orders shipped before this migration keep only their free-text logistics_note.


class Migration(migrations.Migration):
    dependencies = [('models', '0024_line_earnings')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Order',
            name='carrier',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='Order',
            name='tracking_no',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
