"""Writes for webhooks: managing them (webhooks), fanning events out to them (fanout), and
delivering one event to one webhook (delivery)."""
