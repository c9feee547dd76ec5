"""Scenarios, metrics, reports and benchmarks for hearth."""
