"""The composition root: a live station built from a station description and one ``Settings`` object.

hardware_bridge/ stays the MQTT edge and scenarios/ the planner's; neither composes
the other.  The CLI and the web view build what they run from here.
"""
