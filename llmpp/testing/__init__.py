"""Fakes, toys and reusable contract suites: imported by tests, never by product code."""
