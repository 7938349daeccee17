from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0028_org_console')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OnboardingBatch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('models.Brand', source_field='brand_id', db_constraint=True, to_field='id', related_name='onboarding_batches', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=32)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', null=True, db_constraint=True, to_field='id', related_name='box_batches', on_delete=OnDelete.SET_NULL)),
                ('count', fields.IntField()),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='box_batches', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'onboarding_batches', 'app': 'models', 'indexes': [Index(fields=['brand_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One print run of box codes: how many, for which distributor, under what name.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OnboardingCode',
            name='print_batch',
            field=fields.ForeignKeyField('models.OnboardingBatch', source_field='print_batch_id', null=True, db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddIndex(
            model_name='OnboardingCode',
            index=Index(fields=['print_batch_id', 'id']),
        ),
        ops.AddIndex(
            model_name='Store',
            index=Index(fields=['brand_id', 'name']),
        ),
        ops.AddIndex(
            model_name='StoreApplication',
            index=Index(fields=['brand_id', 'store_name']),
        ),
    ]
