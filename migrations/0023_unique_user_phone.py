from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Before this migration a second WeChat user could bind a phone already bound (and got no
# role from it). One binding per phone is kept: the user the phone's salesperson was linked
# to, else the earliest; the others are cleared, as the refusal would have left them.
UNBIND_DUPLICATES = [
    "UPDATE users SET phone = NULL WHERE phone IS NOT NULL AND id <> COALESCE("
    "(SELECT MIN(s.user_id) FROM salespeople s JOIN users u ON u.id = s.user_id"
    " WHERE s.phone = users.phone AND u.phone = users.phone),"
    " (SELECT MIN(u.id) FROM users u WHERE u.phone = users.phone))",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0022_refund_lines')]

    initial = False

    operations = [
        ops.RunSQL(UNBIND_DUPLICATES, reverse_sql=["SELECT 1"]),
        ops.AlterField(
            model_name='User',
            name='phone',
            field=fields.CharField(null=True, unique=True, max_length=20),
        ),
    ]
