"""Members get a public id (`user_…`): what `GET /v1/members` lists and what a thread's
assignee of type "user" names. Existing memberships are given one each, then it becomes unique."""

from django.db import migrations

import sendook.fields


def give_ids(apps, schema_editor):
    Membership = apps.get_model("inboxes", "Membership")
    for membership in Membership.objects.filter(public_id="").only("pk").iterator():
        Membership.objects.filter(pk=membership.pk).update(
            public_id=sendook.fields.new_public_id("user")
        )


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0005_send_policy_and_pause")]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="public_id",
            field=sendook.fields.PublicIdField(prefix="user", unique=False, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(give_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="membership",
            name="public_id",
            field=sendook.fields.PublicIdField(prefix="user"),
        ),
    ]
