"""Full-text search over messages.

The column exists on every backend; on PostgreSQL a trigger keeps it filled from subject (A),
sender and recipients (B) and text (C), a GIN index serves `@@` queries, and existing rows are
backfilled. A trigger rather than application code, so that every writer (API, inbound pipeline,
admin, bulk updates) keeps the vector right; rather than a GeneratedField, because the
expression is PostgreSQL-only and SQLite must still migrate.
"""

import django.contrib.postgres.search
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION mail_message_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.subject, '')), 'A')
        || setweight(to_tsvector('english',
               coalesce(NEW.from_name, '') || ' ' || coalesce(NEW.from_email, '') || ' '
               || translate(coalesce(NEW."to"::text, '') || ' ' || coalesce(NEW.cc::text, ''),
                            '[]{}",:', '       ')), 'B')
        || setweight(to_tsvector('english', left(coalesce(NEW.text, ''), 500000)), 'C');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
--

CREATE TRIGGER mail_message_search_vector_update
    BEFORE INSERT OR UPDATE OF subject, from_name, from_email, "to", cc, text, search_vector
    ON mail_message FOR EACH ROW EXECUTE FUNCTION mail_message_search_vector();
--

CREATE INDEX mail_message_search_vector_gin ON mail_message USING gin (search_vector);
--

UPDATE mail_message SET search_vector = NULL;
"""

BACKWARD = """
DROP INDEX IF EXISTS mail_message_search_vector_gin;
--
DROP TRIGGER IF EXISTS mail_message_search_vector_update ON mail_message;
--
DROP FUNCTION IF EXISTS mail_message_search_vector();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD.split("\n--\n"):
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD.split("\n--\n"):
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('mail', '0002_suppression_list_and_send_retry_time'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='search_vector',
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
