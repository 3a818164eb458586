"""One search language for the API (`GET …/messages?query=`) and the staff UI.

A query is free text plus operators:

    from:alice  to:bob (to or cc)  subject:"quarterly report"  label:urgent  has:attachment
    before:2026-01-31  after:2026-01-01  is:sent  is:received  is:read  is:unread
    in:support@acme.test  (an inbox address: narrows a search across all inboxes)

Values may be quoted ("…"). An operator prefixed with `-` is negated (`-label:spam`).
Free text follows websearch rules: words must all match, "quoted phrases" match as a phrase,
`-word` excludes. `OR` (in capitals) separates alternatives, words and operators alike, and AND
binds tighter: `invoice from:alice OR refund from:bob` is
`(invoice AND from:alice) OR (refund AND from:bob)`; there are no parentheses.

On PostgreSQL free text runs against `Message.search_vector`, a tsvector over subject (weight A),
sender and recipients (B) and text (C) kept up to date by a database trigger (migration
0003_message_search_vector), so every writer — API, inbound pipeline, admin, bulk updates — keeps
it right without calling anything. Results are ranked (ts_rank) when there is free text.
Plain words (no quotes, no `-`, no `OR`) keep the meaning they had in the original Sendook: a
case-insensitive substring match over subject, text, from, to, cc and labels. So on PostgreSQL a
plain-word query matches rows whose tsvector matches OR which contain every word as a substring
("invoice" finds "invoices" by stemming and "alice" finds "alice@example.com" by substring).

On SQLite (and any other backend) the same syntax runs through icontains: each word or phrase is
a substring match over those fields, `-term` excludes, `OR` alternates; there is no ranking.
SQLite's LIKE folds only ASCII letters, so a word with other letters is compared through a
Python casefold() registered on each SQLite connection (CaseFold): "élan" finds "Élan".

- `query.py`: the language: parse_query() reads a query into clauses of terms and operators.
- `sql.py`: filter_messages(), a queryset narrowed (and ranked) by a query, on any database.
- `postgres.py`: full text (tsvector, ranking) and the trigram-indexed expression.
- `sqlite.py`: Unicode case folding for SQLite's LIKE.
"""
