"""Organization-scoped reads of threads, messages and attachments, for the API and the staff UI.

The API resolves the inbox of its URL first (inboxes.selectors.get_inbox); the staff UI reads
across an organization's inboxes. Either way a row of another inbox or organization is
indistinguishable from a missing one. Messages in messages.py, threads in threads.py, drafts in
drafts.py; everything is read as `messages.selectors.<name>`.
"""

from messages.selectors.drafts import count_drafts, get_draft, get_draft_for_change, list_drafts
from messages.selectors.messages import (
    complete_message_rows,
    get_attachment,
    get_attachment_for_member,
    get_message,
    get_outbound_message,
    get_pending_approval,
    list_messages,
    list_pending_approvals,
    search_messages,
    suppressed_addresses,
)
from messages.selectors.threads import (
    ACTIVE_STATUSES,
    THREAD_VIEWS,
    THREADS_PER_PAGE,
    UNFILTERED,
    get_assignee,
    get_thread,
    get_thread_message,
    list_inboxes_with_unread,
    list_threads,
    message_ids_of,
    page_of,
    search_page,
    thread_counts,
    thread_messages,
    thread_page,
    view_filters,
)

__all__ = [
    "ACTIVE_STATUSES",
    "THREADS_PER_PAGE",
    "THREAD_VIEWS",
    "UNFILTERED",
    "complete_message_rows",
    "count_drafts",
    "get_assignee",
    "get_attachment",
    "get_attachment_for_member",
    "get_draft",
    "get_draft_for_change",
    "get_message",
    "get_outbound_message",
    "get_pending_approval",
    "get_thread",
    "get_thread_message",
    "list_drafts",
    "list_inboxes_with_unread",
    "list_messages",
    "list_pending_approvals",
    "list_threads",
    "message_ids_of",
    "page_of",
    "search_messages",
    "search_page",
    "suppressed_addresses",
    "thread_counts",
    "thread_messages",
    "thread_page",
    "view_filters",
]
