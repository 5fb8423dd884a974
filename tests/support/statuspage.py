"""Reading the status page as a test sees it: its room rows, through the admin app."""

from __future__ import annotations

from html.parser import HTMLParser

from flask.testing import FlaskClient

from monitor.core.config import Config
from monitor.runtime.app import create_admin_app
from support.paths import RULES


class Rows(HTMLParser):
    """The text of each room row (``tr[data-room-id]``), and the page's whole text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.text: list[str] = []
        self._room: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._room = dict(attrs).get("data-room-id")
            if self._room:
                self.rows[self._room] = ""

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._room and data.strip():
            self.rows[self._room] += " " + " ".join(data.split())

    @classmethod
    def of(cls, html: str) -> Rows:
        parser = cls()
        parser.feed(html)
        return parser


def admin(config: Config) -> FlaskClient:
    return create_admin_app(config.with_(rules_dir=RULES)).test_client()
