"""Threads, messages, attachments, inbound records and suppressions, with their search machinery.

One migration for the app's whole schema (the earlier steps were squashed before any release;
`replaces` lets a database migrated through them carry on). Two parts are PostgreSQL-only and
run after the tables exist:
- full-text search: a trigger keeps `search_vector` filled from subject (A), sender and
  recipients (B) and text (C), and a GIN index serves `@@` queries. A trigger rather than
  application code, so that every writer (API, inbound pipeline, admin, bulk updates) keeps the
  vector right; rather than a GeneratedField, because the expression is PostgreSQL-only and
  SQLite must still migrate.
- substring search: plain words keep their original Sendook meaning (case-insensitive substring
  of subject, text, from, to, cc or labels); a trigram GIN index over UPPER() of the one
  expression joining those fields lets PostgreSQL answer `UPPER(expr) LIKE UPPER('%word%')` from
  the index. pg_trgm is a trusted extension (PostgreSQL 13+); without it the index is skipped and
  substring search still works, by scanning.
"""

import logging

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models, transaction
from django.db.models import F, Func, TextField
from django.db.models.functions import Cast, Upper
from django.db.models.sql import Query

import sendook.fields

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


def create_search_vector_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD.split("\n--\n"):
            schema_editor.execute(statement)


def drop_search_vector_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD.split("\n--\n"):
            schema_editor.execute(statement)


logger = logging.getLogger(__name__)

INDEX_NAME = "mail_message_fulltext_trgm"
# The same expression as the search module's FullText, frozen here.
TEXT_FIELDS = ("subject", "text", "from_email", "from_name", "to", "cc", "labels")
JSON_FIELDS = ("to", "cc", "labels")


class FullText(Func):
    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self):
        super().__init__(
            *(Cast(name, TextField()) if name in JSON_FIELDS else F(name) for name in TEXT_FIELDS)
        )


def _create_index_sql(model, schema_editor):
    """CREATE INDEX over the expression exactly as the ORM compiles it in queries, so the
    planner recognises it."""
    expression = Upper(FullText())
    query = Query(model)
    compiler = query.get_compiler(connection=schema_editor.connection)
    sql, params = expression.resolve_expression(query).as_sql(compiler, schema_editor.connection)
    sql = sql % tuple(schema_editor.quote_value(param) for param in params)
    table = schema_editor.quote_name(model._meta.db_table)
    return f"CREATE INDEX {INDEX_NAME} ON {table} USING gin (({sql}) gin_trgm_ops)"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:
        logger.warning("pg_trgm unavailable: substring search will scan instead of using an index")
        return
    schema_editor.execute(_create_index_sql(apps.get_model("mail", "Message"), schema_editor))


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):

    initial = True

    replaces = [
        ('mail', '0001_threads_messages_attachments'),
        ('mail', '0002_inbound_email_raw_records_and_message_verdicts'),
        ('mail', '0002_suppression_list_and_send_retry_time'),
        ('mail', '0003_merge_suppressions_and_inbound_records'),
        ('mail', '0003_message_search_vector'),
        ('mail', '0004_merge_search_vector'),
        ('mail', '0004_message_unread_partial_indexes'),
        ('mail', '0005_message_fulltext_trigram_index'),
        ('mail', '0006_merge_search_indexes'),
        ('mail', '0006_message_org_newest_index'),
        ('mail', '0007_merge_org_newest_index'),
        ('mail', '0008_message_send_claim'),
    ]

    dependencies = [
        ('inboxes', '0003_domain_challenge_and_grace'),
    ]

    operations = [
        migrations.CreateModel(
            name='InboundEmail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', sendook.fields.PublicIdField(prefix='inb')),
                ('source', models.CharField(max_length=40)),
                ('provider_notification_id', models.CharField(blank=True, max_length=255)),
                ('envelope_recipients', models.JSONField(blank=True, default=list)),
                ('raw', models.FileField(max_length=255, upload_to='inbound/%Y/%m/%d')),
                ('size', models.PositiveBigIntegerField(default=0)),
                ('verdicts', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('processed', 'Processed'), ('quarantined', 'Quarantined'), ('failed', 'Failed')], default='pending', max_length=12)),
                ('quarantine_reason', models.CharField(blank=True, max_length=255)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('error', models.TextField(blank=True)),
                ('unknown_recipients', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('processed_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'inbound email',
                'indexes': [models.Index(fields=['status', '-id'], name='inbound_status_newest')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('provider_notification_id', ''), _negated=True), fields=('provider_notification_id',), name='inbound_unique_notification_id')],
            },
        ),
        migrations.CreateModel(
            name='Thread',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', sendook.fields.PublicIdField(prefix='thread')),
                ('subject', models.TextField(blank=True)),
                ('normalized_subject', models.TextField(blank=True)),
                ('participants', models.JSONField(blank=True, default=list)),
                ('labels', models.JSONField(blank=True, default=list)),
                ('message_count', models.PositiveIntegerField(default=0)),
                ('last_message_at', models.DateTimeField(blank=True, null=True)),
                ('preview', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('inbox', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='threads', to='inboxes.inbox')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='threads', to='inboxes.organization')),
            ],
        ),
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', sendook.fields.PublicIdField(prefix='msg')),
                ('direction', models.CharField(choices=[('outbound', 'Outbound'), ('inbound', 'Inbound')], max_length=10)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('bounced', 'Bounced'), ('complained', 'Complained'), ('rejected', 'Rejected'), ('failed', 'Failed'), ('received', 'Received')], max_length=12)),
                ('status_reason', models.TextField(blank=True)),
                ('status_detail', models.JSONField(blank=True, default=dict)),
                ('from_email', models.CharField(max_length=320)),
                ('from_name', models.CharField(blank=True, max_length=200)),
                ('to', models.JSONField(blank=True, default=list)),
                ('cc', models.JSONField(blank=True, default=list)),
                ('bcc', models.JSONField(blank=True, default=list)),
                ('reply_to', models.JSONField(blank=True, default=list)),
                ('subject', models.TextField(blank=True)),
                ('text', models.TextField(blank=True)),
                ('html', models.TextField(blank=True)),
                ('extracted_text', models.TextField(blank=True)),
                ('labels', models.JSONField(blank=True, default=list)),
                ('verdicts', models.JSONField(blank=True, default=dict)),
                ('thread_rule', models.CharField(blank=True, max_length=16)),
                ('message_id', models.CharField(blank=True, max_length=998)),
                ('in_reply_to', models.CharField(blank=True, max_length=998)),
                ('references', models.JSONField(blank=True, default=list)),
                ('external_message_id', models.CharField(blank=True, max_length=255)),
                ('raw', models.FileField(blank=True, max_length=255, upload_to='raw/%Y/%m/%d')),
                ('send_attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('send_claimed_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('is_read', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('search_vector', django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True)),
                ('from_inbox', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='inboxes.inbox')),
                ('inbound_email', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='mail.inboundemail')),
                ('inbox', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='inboxes.inbox')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='inboxes.organization')),
                ('to_inbox', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='inboxes.inbox')),
                ('thread', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='mail.thread')),
            ],
        ),
        migrations.CreateModel(
            name='Attachment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', sendook.fields.PublicIdField(prefix='att')),
                ('filename', models.CharField(max_length=255)),
                ('content_type', models.CharField(default='application/octet-stream', max_length=255)),
                ('size', models.PositiveBigIntegerField(default=0)),
                ('content_id', models.CharField(blank=True, max_length=255)),
                ('inline', models.BooleanField(default=False)),
                ('file', models.FileField(max_length=255, upload_to='attachments/%Y/%m/%d')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('message', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='mail.message')),
            ],
            options={
                'indexes': [models.Index(fields=['message', 'id'], name='attachment_message_order')],
            },
        ),
        migrations.CreateModel(
            name='Suppression',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.CharField(max_length=320)),
                ('reason', models.CharField(choices=[('bounce', 'Bounce'), ('complaint', 'Complaint'), ('manual', 'Manual')], max_length=12)),
                ('detail', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='suppressions', to='inboxes.organization')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('organization', 'email'), name='suppression_unique_email')],
            },
        ),
        migrations.AddIndex(
            model_name='thread',
            index=models.Index(fields=['inbox', '-last_message_at', '-id'], name='thread_inbox_activity'),
        ),
        migrations.AddIndex(
            model_name='thread',
            index=models.Index(fields=['organization', '-last_message_at', '-id'], name='thread_org_activity'),
        ),
        migrations.AddIndex(
            model_name='thread',
            index=models.Index(fields=['inbox', 'normalized_subject'], name='thread_inbox_subject'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['inbox', '-id'], name='message_inbox_newest'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['thread', 'id'], name='message_thread_order'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['organization', 'message_id'], name='message_org_rfc_id'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['external_message_id'], name='message_provider_id'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['status', 'updated_at'], name='message_status_sweep'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['organization', '-created_at', '-id'], name='message_org_newest'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('direction', 'inbound'), ('is_read', False)), fields=['organization', 'inbox', 'thread'], name='message_unread_by_inbox'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('direction', 'inbound'), ('is_read', False)), fields=['thread'], name='message_unread_by_thread'),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.UniqueConstraint(condition=models.Q(('direction', 'inbound'), models.Q(('message_id', ''), _negated=True)), fields=('inbox', 'message_id'), name='message_inbound_unique_rfc_id'),
        ),
        migrations.RunPython(create_search_vector_trigger, drop_search_vector_trigger),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
