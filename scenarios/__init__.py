"""Scenarios: the SimPy binding, scenario files, KPIs and reports for planners."""
