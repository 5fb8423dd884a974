"""Pseudonyms agree across replicas: with shared PostgreSQL state the salt is the database's,
and a replica that has it keeps pseudonymising while PostgreSQL is away."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.config import Config
from monitor.store.statedb import StateDBError
from monitor.webhooks.privacy import load_salt

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/gone"


def test_every_replica_gets_the_first_ones_salt(config: Config, state_url: str,
                                                tmp_path: Path) -> None:
    a = config.with_(hash_salt="", state_url=state_url, data_dir=tmp_path / "a")
    b = config.with_(hash_salt="", state_url=state_url, data_dir=tmp_path / "b")
    (b.state_dir).mkdir(parents=True)
    (b.state_dir / "pseudonym.salt").write_bytes(b"b-had-its-own-before")
    first = load_salt(a)
    assert len(first) == 64
    assert load_salt(b) == first                              # b takes the shared one
    assert (b.state_dir / "pseudonym.salt").read_bytes() == first


def test_a_replica_that_has_the_salt_keeps_it_while_postgresql_is_away(
        config: Config, state_url: str, tmp_path: Path) -> None:
    up = config.with_(hash_salt="", state_url=state_url, data_dir=tmp_path / "a")
    salt = load_salt(up)
    assert load_salt(up.with_(state_url=UNREACHABLE)) == salt
    new = config.with_(hash_salt="", state_url=UNREACHABLE, data_dir=tmp_path / "new")
    with pytest.raises(StateDBError):          # never a salt of its own that others lack
        load_salt(new)
