"""Prometheus metrics shared by the receiver workers and the writer.

Under ``zrmon serve`` every process writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), and the
admin listener aggregates them; gauges that describe the disk (spool depth,
quarantine size) are computed when scraped, so they are never stale.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_RECEIVED = Counter(
    "zrmon_events_received_total",
    "Webhook deliveries by event name and outcome.",
    ["event", "outcome"],
)
READINGS_REJECTED = Counter(
    "zrmon_readings_rejected_total",
    "Sensor readings dropped from an otherwise accepted event (kept in quarantine).",
)
READINGS_WRITTEN = Counter(
    "zrmon_readings_written_total", "Sensor readings written to InfluxDB."
)
POINTS_WRITTEN = Counter(
    "zrmon_points_written_total", "Points written to InfluxDB by measurement.", ["measurement"]
)
EVENTS_WRITTEN = Counter(
    "zrmon_events_written_total", "Spooled events the writer has fully stored."
)
DUPLICATES_SKIPPED = Counter(
    "zrmon_duplicate_events_total", "Deliveries recognised as duplicates and skipped."
)
WRITE_LATENCY = Histogram(
    "zrmon_influx_write_seconds", "Duration of one batch write to InfluxDB.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WRITE_ERRORS = Counter(
    "zrmon_influx_write_errors_total", "Failed InfluxDB writes by kind.", ["kind"]
)
WRITER_STORAGE_ERRORS = Counter(
    "zrmon_writer_storage_errors_total",
    "Batches the writer could not commit to its local state (full or failing disk); retried.",
)
WRITER_QUARANTINED = Counter(
    "zrmon_writer_quarantined_total", "Events InfluxDB refused, moved to quarantine."
)
# The receiver's view of itself (monitor/webhooks/routes.py): what Zoom's 3-second budget
# and its clock look like from here, before deliveries start failing.
ACK_LATENCY = Histogram(
    "zrmon_webhook_ack_seconds",
    "Time from a webhook request reaching the app to its answer, by outcome.",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CLOCK_SKEW = Histogram(
    "zrmon_webhook_clock_skew_seconds",
    "Our clock minus x-zm-request-timestamp on correctly signed first deliveries.",
    buckets=(-300, -120, -60, -30, -10, -5, -2, -1, 0, 1, 2, 5, 10, 30, 60, 120, 300),
)
CLOCK_SKEW_LAST = Gauge(
    "zrmon_webhook_clock_skew_last_seconds",
    "The most recent clock skew seen on a correctly signed first delivery.",
    multiprocess_mode="mostrecent",
)
SIGNATURE_FAILURES = Counter(
    "zrmon_webhook_signature_failures_total", "Requests refused with 401, by reason.", ["reason"]
)
SIGNATURES_VERIFIED = Counter(
    "zrmon_webhook_signatures_verified_total",
    "Requests whose signature verified, by token (current, or previous during a rotation).",
    ["token"],
)

# Rule evaluation and notifications (the scheduling process: ``serve``'s writer, ``scheduler``).
RULE_EVALUATIONS = Counter("zrmon_rule_evaluations_total", "Rule evaluations.", ["rule"])
RULE_ERRORS = Counter(
    "zrmon_rule_errors_total", "Rule evaluations that failed.", ["group", "rule"]
)
GROUP_EVALUATION_SECONDS = Histogram(
    "zrmon_rule_group_evaluation_seconds",
    "Duration of one rule group's evaluation (queries and state machine).", ["group"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
GROUP_LAST_SUCCESS = Gauge(
    "zrmon_rule_group_last_success_timestamp_seconds",
    "When a rule group last evaluated every rule and committed the result (Unix time).",
    ["group"], multiprocess_mode="max",
)
STATE_COMMIT_FAILURES = Counter(
    "zrmon_rule_state_commit_failures_total",
    "Failed attempts to commit rule and dispatcher state with their notifications.",
)
NOTIFICATIONS_SENT = Counter(
    "zrmon_notifications_sent_total", "Notifications delivered, by channel.", ["channel"]
)
NOTIFICATIONS_FAILED = Counter(
    "zrmon_notifications_failed_total",
    "Notifications given up on (permanent error, too old), by channel.", ["channel"],
)
NOTIFICATION_RETRIES = Counter(
    "zrmon_notification_retries_total",
    "Failed delivery attempts that will be retried, by channel.", ["channel"],
)

# Zoom REST API registry sync (monitor/zoom/sync.py: the writer's thread, ``zrmon zoom sync``).
ZOOM_SYNCS = Counter(
    "zrmon_zoom_syncs_total", "Registry syncs from Zoom's REST API, by outcome (ok, failed).",
    ["outcome"],
)
ZOOM_SYNC_LAST_SUCCESS = Gauge(
    "zrmon_zoom_sync_last_success_timestamp_seconds",
    "When a registry sync last spooled a complete snapshot (Unix time).",
    multiprocess_mode="max",
)
ZOOM_SYNC_SEEN = Gauge(
    "zrmon_zoom_sync_seen",
    "Rooms and locations the last successful sync read from Zoom, by kind.", ["kind"],
    multiprocess_mode="mostrecent",
)
ZOOM_API_REQUESTS = Counter(
    "zrmon_zoom_api_requests_total",
    "Zoom API requests by outcome: answered (any HTTP answer), retried (after a 5xx or a "
    "network error), throttled (429), token_renewed (after a 401).", ["outcome"],
)

# Gap fill (monitor/zoom/gapfill.py, in the writer process): gaps in a room's readings while
# it was not offline, by outcome: found (once per gap), filled (Zoom had readings for it),
# empty (Zoom had none: not asked again), offline (inside an offline incident: left alone).
ZOOM_GAPS = Counter(
    "zrmon_zoom_gaps_total", "Gaps in rooms' sensor readings by outcome "
    "(found, filled, empty, offline).", ["outcome"],
)
