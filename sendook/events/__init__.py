"""The event log: one row per change a customer may want to hear about, written in the same
transaction as the change (an outbox). Every app writes to it; it depends on none of them. Who
listens (customer webhooks) registers in `subscribers`."""
