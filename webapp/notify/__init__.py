"""Notifications: outbox, delivery channels (email, signed webhooks) and their safeguards."""
