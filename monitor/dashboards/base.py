"""What every zrmon dashboard has: uid, tag, time range, links to the others."""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard

TAG = "zrmon"


def skeleton(uid: str, title: str, description: str, *, time_from: str,
             variables: Sequence[cogbuilder.Builder[dashboard.VariableModel]],
             refresh: str = "1m") -> dashboard_builders.Dashboard:
    """A dashboard whose links carry the time range and the building/floor/room choice
    to the other zrmon dashboards."""
    links = (dashboard_builders.DashboardLink("zrmon dashboards")
             .type(dashboard.DashboardLinkType.DASHBOARDS).tags([TAG]).as_dropdown(True)
             .include_vars(True).keep_time(True).target_blank(False).icon("external link")
             .tooltip("").url(""))
    return (dashboard_builders.Dashboard(title).uid(uid).description(description)
            .tags([TAG]).editable().timezone("browser").time(time_from, "now")
            .refresh(refresh).version(1).links([links]).variables(list(variables))
            .annotations([]))
