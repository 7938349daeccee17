from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_voucher_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Complaint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='complaints', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='complaints', on_delete=OnDelete.RESTRICT)),
                ('distributor_id', fields.BigIntField(null=True)),
                ('order_id', fields.BigIntField(null=True)),
                ('category', fields.CharField(max_length=12)),
                ('text', fields.TextField(unique=False)),
                ('contact_preference', fields.CharField(max_length=8)),
                ('status', fields.CharField(default='new', max_length=12)),
                ('rating', fields.SmallIntField(null=True)),
                ('rating_comment', fields.CharField(default='', max_length=200)),
                ('reopen_count', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'complaints', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'status', 'id']), Index(fields=['distributor_id', 'status']), Index(fields=['store_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One complaint. status moves by guarded updates (WHERE status = <from>).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ComplaintEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('complaint', fields.ForeignKeyField('models.Complaint', source_field='complaint_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('actor_id', fields.BigIntField(null=True)),
                ('actor_role', fields.CharField(max_length=20)),
                ('from_status', fields.CharField(null=True, max_length=12)),
                ('to_status', fields.CharField(null=True, max_length=12)),
                ('message', fields.TextField(default='', unique=False)),
                ('internal', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'complaint_events', 'app': 'models', 'pk_attr': 'id', 'table_description': "One step of a complaint's timeline, never changed: a status move, a message to the"},
            bases=['Model'],
        ),
    ]
