"""Writes and side effects of the mail app, one module per concern:

- outbound: validate and queue send / reply / reply-all / forward (the API's send path)
- sending: build the MIME and hand it to the email backend (the worker)
- local_delivery: mail to inboxes hosted here lands in them directly
- threads: thread bookkeeping and labels
- tracking: provider delivery events (delivered, bounced, complained, rejected)
"""
