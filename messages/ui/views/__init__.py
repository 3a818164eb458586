"""The staff inbox UI: server-rendered pages for people who belong to an organization, one
module per page (threads, thread, compose, search, attachments, account).

Every view resolves the organization from the signed-in user's memberships (the one chosen in
the switcher, kept in the session) and reads rows through messages.selectors, the API's own, so
another organization's ids answer 404. Pages carry a strict Content-Security-Policy; message
bodies are rendered by messages.ui.rendering into sandboxed iframes.
"""
