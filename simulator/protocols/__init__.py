"""The protocol registry. Each protocol is one package of the same shape (docs/architecture.md, base.py)."""

import importlib

from ..errors import ScenarioError

# name -> module; the order is the gallery's order.
_MODULES = {
    "raft": "simulator.protocols.raft",
    "paxos": "simulator.protocols.paxos",
    "twophase": "simulator.protocols.twophase",
    "gossip": "simulator.protocols.gossip",
    "kafka": "simulator.protocols.kafka",
}


def protocol_names():
    return list(_MODULES)


def get_protocol(name):
    if not isinstance(name, str) or name not in _MODULES:
        raise ScenarioError(
            f"protocol: unknown protocol {name!r} (known: {', '.join(_MODULES)})", field="protocol"
        )
    return importlib.import_module(_MODULES[name]).PROTOCOL


def all_protocols():
    return [get_protocol(name) for name in _MODULES]
