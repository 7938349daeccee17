from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
import functools
from json import dumps, loads

class Migration(migrations.Migration):
    dependencies = [('models', '0029_onboarding_console')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('task', fields.CharField(max_length=64)),
                ('args', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('brand_id', fields.BigIntField(null=True)),
                ('status', fields.CharField(max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('generation', fields.IntField(default=0)),
                ('last_error', fields.CharField(max_length=500, null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'jobs', 'app': 'models', 'indexes': [Index(fields=['status', 'updated_at']), Index(fields=['brand_id', 'status', 'id'])], 'pk_attr': 'id', 'table_description': 'A durable job (backend/infra/jobs.py): written in the transaction of the change that'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SubscribeSend',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('cause', fields.CharField(max_length=64, unique=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='subscribe_sends', on_delete=OnDelete.CASCADE)),
                ('template_id', fields.CharField(max_length=64)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'subscribe_sends', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One subscribe message sent for one cause (a job): a rerun of that job finds it and'},
            bases=['Model'],
        ),
    ]
