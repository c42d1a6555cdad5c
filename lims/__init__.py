"""Kuaijian LIMS: laboratory information system for food-safety rapid testing."""

__version__ = "0.1.0"
