"""Writes and side effects of the mail app, one module per thing a reader looks for:

- send: accept a send / reply / reply-all / forward (validate, store queued, enqueue)
- delivery: the worker: claim a queued message, hand it to the provider, record the outcome
  (and deliver copies to inboxes hosted here)
- mime: build the outbound MIME
- receive: store raw inbound mail, parse it, route it into inboxes
- routing: which hosted inboxes an address reaches (`+tag` → label)
- threads: find the thread a message continues, reply/forward subjects, thread summaries
- tracking: provider delivery events (delivered, bounced, complained, rejected)
- enqueue: the tasks the services queue, by name
"""
