"""zoom-rooms-monitor: watch the health of Zoom Rooms from their webhooks."""

__version__ = "0.1.0"
