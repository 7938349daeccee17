from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0030_jobs')]

    initial = False

    operations = [
        ops.AddField(
            model_name='JobRecord',
            name='context',
            field=fields.CharField(default='', max_length=120),
        ),
        ops.AddField(
            model_name='JobRecord',
            name='kind',
            field=fields.CharField(default='task', max_length=16),
        ),
    ]
