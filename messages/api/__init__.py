"""The JSON API of threads and messages: /v1/inboxes/{inbox_id}/messages and …/threads."""
