from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_complaint_photos')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Complaint',
            name='content_check',
            field=fields.CharField(default='pass', db_default='pass', max_length=10),
        ),
        ops.AddField(
            model_name='Complaint',
            name='content_review',
            field=fields.CharField(default='', db_default='', max_length=10),
        ),
    ]
