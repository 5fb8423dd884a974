"""The channel kinds, by the ``type:`` that names them in ``channels.yaml``.

Adding a kind is its module (schema, channel with its sender, message
shape) and one line here. The order is the one error messages list.
"""

from __future__ import annotations

from monitor.notify.channels import email, log, slack, teams, webhook
from monitor.notify.channels.kind import Kind

KINDS: dict[str, Kind] = {
    "log": log.KIND,
    "slack": slack.KIND,
    "teams": teams.KIND,
    "webhook": webhook.KIND,
    "email": email.KIND,
}
