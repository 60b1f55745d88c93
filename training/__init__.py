"""Offline half of the forecasting service: data, windows, architectures, fit and export.

The modules ``store``, ``data``, ``baselines`` and ``metrics`` are pure numpy (no TensorFlow
import), so the online ``app`` can share them without loading training code.
"""
