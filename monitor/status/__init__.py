"""The status page: a read-only view of every room on the admin listener.

``query`` reads InfluxDB (three InfluxQL queries, whatever the number of
rooms), ``levels`` colours values by the rule files' thresholds, ``model``
turns both into rows (pure, tested without servers) and ``views`` renders
them as HTML or JSON. It is never registered on the public webhook app.
"""
