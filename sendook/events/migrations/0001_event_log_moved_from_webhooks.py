"""The event log moves from the webhooks app to this one without touching the database: its
table keeps its name (webhooks_event) and its rows; only Django's idea of which app owns the
model changes (webhooks 0007 forgets it there)."""

import django.db.models.deletion
import sendook.fields
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="webhooks", new="events"):
    # Keeps the admin permissions already granted on events (view_event...) attached to them.
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=new, model="event").exists():
        ContentType.objects.filter(app_label=old, model="event").update(app_label=new)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="events", new="webhooks")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.SENDOOK_ORGANIZATION_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        # The table this model takes over is created (and last changed) there.
        ("webhooks", "0006_domain_verification_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("public_id", sendook.fields.PublicIdField(prefix="evt")),
                        ("type", models.CharField(choices=[("inbox.created", "Inbox Created"), ("inbox.updated", "Inbox Updated"), ("inbox.deleted", "Inbox Deleted"), ("message.sent", "Message Sent"), ("message.received", "Message Received"), ("message.delivered", "Message Delivered"), ("message.bounced", "Message Bounced"), ("message.complained", "Message Complained"), ("message.rejected", "Message Rejected"), ("message.failed", "Message Failed"), ("domain.verified", "Domain Verified"), ("domain.unverified", "Domain Unverified"), ("webhook.disabled", "Webhook Disabled"), ("webhook.test", "Webhook Test")], max_length=40)),
                        ("inbox_public_id", models.CharField(blank=True, max_length=40)),
                        ("message_public_id", models.CharField(blank=True, max_length=40)),
                        ("payload", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("feed_seq", models.BigIntegerField(blank=True, editable=False, null=True)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="events", to=settings.SENDOOK_ORGANIZATION_MODEL)),
                    ],
                    options={
                        "db_table": "webhooks_event",
                        "indexes": [
                            models.Index(fields=["organization", "id"], name="event_org_order"),
                            models.Index(condition=models.Q(("feed_seq__isnull", True)), fields=["id"], name="event_unsequenced"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(fields=("organization", "feed_seq"), name="event_feed_seq_unique"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back, elidable=True),
    ]
