"""Notification channels: one module per ``type:`` of ``rules/channels.yaml``.

Each kind's module (``log``, ``webhook``, ``slack``, ``teams``, ``email``)
holds its config schema, its channel with the sender it builds, and how a
notification looks on it; :mod:`.registry` maps ``type:`` to the kind.
Shared pieces live once: the file's loader (:mod:`.loader`), the contract
every kind meets and the outbox relies on (:mod:`.kind`: ``DeliveryError``,
``build_senders``), and HTTP posting (:mod:`.http`).
"""
