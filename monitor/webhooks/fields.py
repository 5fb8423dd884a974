"""The marshmallow fields of webhook bodies, and the base schema they load into.

Each field is one check of :mod:`monitor.webhooks.checks` and nothing more,
so the compiled twins (:mod:`monitor.webhooks.compiled`) can read a field's
check straight off a schema. Fields that normalise a value (times, sensor
values) load to :class:`Split`; :class:`ObjectSchema` puts the value back as
given, with the normalised form under a key of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load

from monitor.webhooks.checks import (
    InvalidError,
    check_code,
    check_id,
    check_sensor_type,
    check_sensor_value,
    check_str,
    optional_ns,
    required_ns,
)


class Split(NamedTuple):
    """A value as given plus its normalised form, put side by side by ``ObjectSchema``."""

    raw: object
    normalised: object


class CheckedField(fields.Field[Any]):
    """A field whose whole job is one of the value checks of :mod:`monitor.webhooks.checks`."""

    def convert(self, value: object) -> object:
        raise NotImplementedError

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> Any:
        try:
            return self.convert(value)
        except InvalidError as exc:
            raise ValidationError(exc.message) from None


class Id(CheckedField):
    """A required id: a string, or an int turned into one."""

    def convert(self, value: object) -> object:
        return check_id(value)


class StrictStr(CheckedField):
    """A string that storage uses as a tag; ``""`` is fine, other types are not."""

    def convert(self, value: object) -> object:
        return check_str(value)


class AlertCode(CheckedField):
    """An integer code; numeric strings are converted, the enum is not enforced."""

    def convert(self, value: object) -> object:
        return check_code(value)


class OptionalTime(CheckedField):
    """A time that may be a placeholder; null is let through and gives ``None`` ns."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)

    def convert(self, value: object) -> object:
        return Split(value, optional_ns(value))


class RequiredTime(CheckedField):
    """A time that must parse: a reading without one cannot be stored."""

    def convert(self, value: object) -> object:
        return Split(value, required_ns(value))


class SensorType(CheckedField):
    """Non-empty string, upper-cased."""

    def convert(self, value: object) -> object:
        return check_sensor_type(value)


class SensorValue(CheckedField):
    """String or number, as a finite float beside the value as given."""

    def convert(self, value: object) -> object:
        return Split(value, check_sensor_value(value))


class ObjectSchema(Schema):
    """Base of every schema here: passes unknown keys through, adds normalised keys.

    Storage wants integer nanoseconds and floats, people and replays want
    what Zoom sent, so both are kept: fields that normalise load to
    ``Split`` (each value parsed once) and are put back here as given, with
    the normalised value under a key of its own.
    """

    class Meta:
        unknown = INCLUDE
        register = False

    #: field -> key its normalised value goes to.
    split_fields: ClassVar[dict[str, str]] = {}
    #: Fields whose normalised key storage reads even when the field is absent.
    always_split: ClassVar[frozenset[str]] = frozenset()

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name, key in self.split_fields.items():
            value = data.get(name)
            if isinstance(value, Split):
                data[name] = value.raw
                data[key] = value.normalised
            elif name in self.always_split or (value is None and name in data):
                data[key] = None
        return data
