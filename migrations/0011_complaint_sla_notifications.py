from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_complaints')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ComplaintSla',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='complaint_slas', on_delete=OnDelete.RESTRICT)),
                ('category', fields.CharField(max_length=12)),
                ('first_response_minutes', fields.IntField()),
                ('resolution_minutes', fields.IntField()),
            ],
            options={'table': 'complaint_slas', 'app': 'models', 'unique_together': (('brand', 'category'),), 'pk_attr': 'id', 'table_description': "A brand's service levels for one category, in minutes (defaults apply without one)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.RESTRICT)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('title', fields.CharField(max_length=64)),
                ('body', fields.CharField(default='', max_length=500)),
                ('link', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['user_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One message to one user, read or not. `link` names what it is about (for example'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Complaint',
            name='acknowledged_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='breached_first_response',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='breached_resolution',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='first_response_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='paused_since',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Complaint',
            name='resolution_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Complaint',
            index=Index(fields=['brand_id', 'due_at', 'id']),
        ),
    ]
