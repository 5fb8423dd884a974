"""Notification delivery: channels from ``rules/channels.yaml``, messages, a durable outbox.

Rule evaluation only *enqueues* notifications (one SQLite insert); a separate
delivery thread sends them, so a slow Slack or SMTP server never delays the
next evaluation, and a restart neither loses nor repeats a notification.
"""
