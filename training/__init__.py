"""Offline half of the forecasting service: data, windows, architectures, fit, export, publish.

It meets the online ``app`` only through :mod:`contract` (the store's format, the metadata
schema, the baselines and metrics); ``data`` and ``publish`` are pure numpy and python.
"""
