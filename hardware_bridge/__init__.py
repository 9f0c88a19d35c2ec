"""The station's devices over MQTT: the topic contract, payload schemas, the client, the bridge to the twin.

Everything about topics and payloads lives here; actors and the twin never see MQTT.
"""
