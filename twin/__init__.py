"""The twin: the station's pure core (entities, change feed, clock, random streams).

Nothing here does I/O, reads the wall clock or touches global random state, so the
same core serves a SimPy replication, a Ray actor and the live bridge.
"""
