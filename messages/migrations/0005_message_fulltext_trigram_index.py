"""Substring search over messages that stays fast at scale (PostgreSQL only).

Plain words keep their original Sendook meaning (case-insensitive substring of subject, text,
from, to, cc or labels). messages/search.py matches them against one expression joining those
fields; this trigram GIN index over UPPER() of that same expression lets PostgreSQL answer
`UPPER(expr) LIKE UPPER('%word%')` from the index, combined (BitmapOr) with the tsvector index.
pg_trgm is a trusted extension (PostgreSQL 13+): a database owner can create it. Without it the
index is skipped and substring search still works, by scanning.
"""

import logging

from django.db import migrations, transaction
from django.db.models import F, Func, TextField
from django.db.models.functions import Cast, Upper
from django.db.models.sql import Query

logger = logging.getLogger(__name__)

INDEX_NAME = "mail_message_fulltext_trgm"
# The same expression as messages.search.FullText, frozen here.
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


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:
        logger.warning("pg_trgm unavailable: substring search will scan instead of using an index")
        return
    schema_editor.execute(_create_index_sql(apps.get_model("mail", "Message"), schema_editor))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX_NAME}")


class Migration(migrations.Migration):

    dependencies = [
        ("mail", "0004_message_unread_partial_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward)]
