"""Benchmarks of tocsin against bare Temporal: ``make bench`` (see ``bench/run.py``)."""
