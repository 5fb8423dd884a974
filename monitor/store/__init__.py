"""Storage edge: the InfluxDB v1 HTTP client, the on-disk spool, quarantine and state."""
