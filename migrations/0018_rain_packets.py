from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0017_live_drops_draws')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='RedPacketGrant',
            options={'table': 'red_packet_grants', 'app': 'models', 'unique_together': (('rain', 'store'), ('rain', 'slot')), 'pk_attr': 'id', 'table_description': "One packet won: one per store per rain, and each packet (`slot`, its index in the rain's"},
        ),
        ops.AddField(
            model_name='RedPacketGrant',
            name='slot',
            field=fields.IntField(null=True),
        ),
        ops.AddConstraint(
            model_name='RedPacketGrant',
            constraint=UniqueConstraint(fields=('rain', 'slot'), name=None),
        ),
        ops.AddField(
            model_name='RedPacketRain',
            name='packets',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
