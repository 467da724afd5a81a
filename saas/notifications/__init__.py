"""Outgoing messages: an outbox written with the change, relayed after commit."""
