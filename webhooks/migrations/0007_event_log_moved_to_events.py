"""The event log now belongs to the events app (events 0001): a delivery's event points there,
and this app forgets the model. State only: the table, its rows and the foreign key's
constraint stay exactly as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0001_event_log_moved_from_webhooks"),
        ("webhooks", "0006_domain_verification_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="event",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="events.event"),
                ),
                migrations.DeleteModel(name="Event"),
            ],
            database_operations=[],
        ),
    ]
