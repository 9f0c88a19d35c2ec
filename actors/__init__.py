"""The station's actors: behaviour written once, for the simulation and the live station.

An actor owns a state machine, takes typed messages in ``receive`` and acts only
through the ``Port`` it was given.  Nothing here knows SimPy, Ray or MQTT.
"""
