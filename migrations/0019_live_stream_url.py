from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_rain_packets')]

    initial = False

    operations = [
        ops.AddField(
            model_name='LiveSession',
            name='stream_url',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
