"""Simulated Zoom Rooms posting signed webhooks: ``zrmon simulate`` and ``make demo``."""
