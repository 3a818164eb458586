from django.apps import AppConfig


class MailUiConfig(AppConfig):
    # An app of its own so Django finds its templates/ and static/ folders (templates/mail/…,
    # /static/mail/app.css) next to the views that use them.
    name = "messages.ui"
    label = "mail_ui"
    verbose_name = "Mail: staff inbox"
