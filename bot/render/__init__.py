"""Block Kit views of the record. Handlers and the outbox ask here; nothing else builds blocks."""
