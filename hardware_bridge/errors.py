"""Errors at the MQTT edge.

BridgeError
├── TopicError     a topic outside the contract (wrong prefix, station, kind, id or channel)
└── PayloadError   a payload that is not valid JSON or breaks its kind's schema
BrokerConfigError  an --mqtt URL that cannot be used (a user's mistake: one line, exit 2)
"""

from __future__ import annotations


class BridgeError(ValueError):
    pass


class TopicError(BridgeError):
    pass


class PayloadError(BridgeError):
    pass


class BrokerConfigError(ValueError):
    pass
