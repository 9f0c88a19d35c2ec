"""Errors at the MQTT edge; the bridge counts rejected messages by the error's class name (``/metrics``).

BridgeError
├── TopicError              a topic outside the contract (wrong prefix, station, kind, id or channel)
├── RetainedCommandError    a command left retained on the broker: never executed, cleared
└── PayloadError            a payload that is not valid JSON or breaks its kind's schema
    ├── OutOfRangeError     a value the device cannot have (queue 5000 at a 2-unit microwave)
    └── PassageError        who came in or left, told by something that is not a door
BrokerConfigError           an --mqtt URL that cannot be used (a user's mistake: one line, exit 2)
"""

from __future__ import annotations


class BridgeError(ValueError):
    pass


class TopicError(BridgeError):
    pass


class RetainedCommandError(BridgeError):
    pass


class PayloadError(BridgeError):
    pass


class OutOfRangeError(PayloadError):
    pass


class PassageError(PayloadError):
    pass


class BrokerConfigError(ValueError):
    pass
