from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_complaint_sla_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ComplaintPhoto',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='complaint_photos', on_delete=OnDelete.RESTRICT)),
                ('store', fields.ForeignKeyField('models.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='complaint_photos', on_delete=OnDelete.RESTRICT)),
                ('complaint', fields.ForeignKeyField('models.Complaint', source_field='complaint_id', null=True, db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.RESTRICT)),
                ('key', fields.CharField(max_length=128)),
                ('content_type', fields.CharField(max_length=16)),
                ('size_bytes', fields.IntField()),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'complaint_photos', 'app': 'models', 'indexes': [Index(fields=['store_id', 'complaint_id'])], 'pk_attr': 'id', 'table_description': 'A photo a store uploaded for a complaint, cleaned of its metadata and stored under'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Complaint',
            index=Index(fields=['brand_id', 'status', 'due_at', 'id']),
        ),
        ops.AddIndex(
            model_name='Complaint',
            index=Index(fields=['distributor_id', 'due_at', 'id']),
        ),
    ]
