"""The staff inbox UI, mounted at / (after /v1, /admin and /health)."""

from django.urls import path

from messages.ui import views
from sendook.login_throttle import throttle_login

app_name = "mail"

urlpatterns = [
    path("login", throttle_login(views.LoginView.as_view()), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("organization", views.switch_organization, name="switch-organization"),
    path("", views.home, name="home"),
    path("threads", views.thread_list, name="all-threads"),
    path("inboxes/<str:inbox_id>", views.thread_list, name="inbox"),
    path("search", views.search, name="search"),
    path("threads/<str:thread_id>", views.thread_detail, name="thread"),
    path("threads/<str:thread_id>/read", views.mark_read, name="mark-read"),
    path("threads/<str:thread_id>/labels", views.change_labels, name="labels"),
    path(
        "threads/<str:thread_id>/reply", views.send_from_thread, {"action": "reply"}, name="reply"
    ),
    path(
        "threads/<str:thread_id>/forward",
        views.send_from_thread,
        {"action": "forward"},
        name="forward",
    ),
    path("compose", views.compose, name="compose"),
    path("attachments/<str:attachment_id>", views.attachment, name="attachment"),
]
