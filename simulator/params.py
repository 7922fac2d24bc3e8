"""Bounded parameters: one declaration gives the default, the bounds, the docs and the check."""

from dataclasses import dataclass, field
from typing import Any

from .errors import ScenarioError

_KINDS = {"int": int, "float": (int, float), "bool": bool, "choice": str, "str": str}


@dataclass(frozen=True)
class Param:
    default: Any
    doc: str
    min: Any = None
    max: Any = None
    kind: str = "int"  # int | float | bool | choice | str
    choices: tuple = ()
    max_length: int = 200

    def check(self, value, where, error=ScenarioError):
        """Return the value, normalised, or raise `error` naming `where` and the allowed range."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise error(f"{where}: must be true or false, got {value!r}", field=where)
            return value
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, _KINDS[self.kind]):
                raise error(f"{where}: must be {self.describe()}, got {value!r}", field=where)
            if self.kind == "float":
                value = float(value)
                if value != value:  # NaN
                    raise error(f"{where}: must be {self.describe()}, got NaN", field=where)
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise error(f"{where}: must be {self.describe()}, got {value!r}", field=where)
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise error(f"{where}: must be one of {', '.join(self.choices)}, got {value!r}", field=where)
            return value
        if not isinstance(value, str) or len(value) > self.max_length:
            raise error(f"{where}: must be a string of at most {self.max_length} characters", field=where)
        return value

    def describe(self):
        noun = "an integer" if self.kind == "int" else "a number"
        if self.min is not None and self.max is not None:
            return f"{noun} between {self.min} and {self.max}"
        if self.min is not None:
            return f"{noun} of at least {self.min}"
        return noun

    def as_dict(self):
        out = {"kind": self.kind, "default": self.default, "doc": self.doc}
        if self.kind in ("int", "float"):
            out.update(min=self.min, max=self.max)
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class Action:
    """A protocol's own intervention, e.g. Raft's `client_request`. `fields` maps name to Param;
    fields named `node` (or listed in `node_fields`) are node ids or role selectors."""

    doc: str
    fields: dict = field(default_factory=dict)
    node_fields: tuple = ("node",)

    def as_dict(self):
        return {
            "doc": self.doc,
            "fields": {k: v.as_dict() for k, v in self.fields.items()},
            "node_fields": list(self.node_fields),
        }


LATENCY = Param(10, "one-way latency in ms", 0, 60_000)
LOSS = Param(0.0, "probability a message is lost", 0.0, 1.0, kind="float")


def check_latency(value, where, error=ScenarioError):
    """A latency is [min, max] ms (or one number for a fixed latency)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value, value]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise error(f"{where}: must be [min, max] in ms, got {value!r}", field=where)
    lo = LATENCY.check(value[0], f"{where}[0]", error)
    hi = LATENCY.check(value[1], f"{where}[1]", error)
    if lo > hi:
        raise error(f"{where}: min {lo} is above max {hi}", field=where)
    return [lo, hi]
