"""The staff inbox UI, mounted at / (after /v1, /admin and /health)."""

from django.urls import path

from messages.ui.views import (
    account,
    approvals,
    attachments,
    bulk,
    compose,
    drafts,
    fragments,
    keys,
    lists,
    members,
    search,
    thread,
    threads,
    work_forms,
)
from sendook.login_throttle import throttle_login

app_name = "mail"

urlpatterns = [
    path("login", throttle_login(account.LoginView.as_view()), name="login"),
    path("logout", account.LogoutView.as_view(), name="logout"),
    path("organization", account.switch_organization, name="switch-organization"),
    path("", threads.home, name="home"),
    path("threads", threads.thread_list, name="all-threads"),
    path("inboxes/<str:inbox_id>", threads.thread_list, name="inbox"),
    path("search", search.search, name="search"),
    # Before threads/<id>: "bulk" is not a thread id.
    path("threads/bulk", bulk.bulk, name="bulk"),
    path("threads/<str:thread_id>", thread.thread_detail, name="thread"),
    # The pieces the live updates fetch (static/mail/live.js).
    path("threads/<str:thread_id>/row", fragments.thread_row, name="live-row"),
    path(
        "threads/<str:thread_id>/messages/<str:message_id>",
        fragments.thread_message,
        name="live-message",
    ),
    path("live/counts", fragments.counts, name="live-counts"),
    # The ASGI process answers /live/events before Django; this is the WSGI process's answer.
    path("live/events", fragments.served_by_asgi, name="live-events"),
    path("threads/<str:thread_id>/assign", work_forms.assign, name="assign"),
    path("threads/<str:thread_id>/status", work_forms.set_status, name="status"),
    path("threads/<str:thread_id>/notes", work_forms.add_note, name="notes"),
    path("threads/<str:thread_id>/read", thread.mark_read, name="mark-read"),
    path("threads/<str:thread_id>/labels", thread.change_labels, name="labels"),
    path(
        "threads/<str:thread_id>/reply", thread.send_from_thread, {"action": "reply"}, name="reply"
    ),
    path(
        "threads/<str:thread_id>/forward",
        thread.send_from_thread,
        {"action": "forward"},
        name="forward",
    ),
    path("compose", compose.compose, name="compose"),
    path("drafts", drafts.draft_list, name="drafts"),
    path("drafts/autosave", drafts.autosave, name="autosave"),
    path("drafts/<str:message_id>", drafts.draft_detail, name="draft"),
    path("approvals", approvals.approval_list, name="approvals"),
    path("keys", keys.key_list, name="keys"),
    path("approvals/pause", approvals.pause, name="pause-sending"),
    path(
        "approvals/<str:message_id>/approve",
        approvals.decide,
        {"decision": "approve"},
        name="approve",
    ),
    path(
        "approvals/<str:message_id>/decline",
        approvals.decide,
        {"decision": "decline"},
        name="decline",
    ),
    path("messages/<str:message_id>/undo", approvals.undo, name="undo"),
    path("attachments/<str:attachment_id>", attachments.attachment, name="attachment"),
    path("members", members.member_list, name="members"),
    path("members/invite", members.invite, name="invite-member"),
    path("members/<str:member_id>/role", members.change_role, name="member-role"),
    path("members/<str:member_id>/remove", members.remove, name="remove-member"),
    path("join/<str:token>", members.join, name="join"),
    path("blocked", lists.blocked_list, name="blocked"),
    path("blocked/<str:message_id>/release", lists.release, name="release"),
    path("lists", lists.list_page, name="lists"),
    path("lists/add", lists.add, name="list-add"),
    path("lists/<str:entry_id>/remove", lists.remove, name="list-remove"),
]
