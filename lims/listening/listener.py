"""Kept for old imports: the listener is now ``lims.listening.port`` (the serial port loop) and
``lims.listening.processor`` (bytes → journal → decoder → store, no serial port). New code
imports from those; this façade goes once nothing imports it (lims/bench/serial_bench.py)."""

from lims.listening.port import Listener, port_settings
from lims.listening.processor import Processor, Tally, make_decoder, replay

__all__ = ["Listener", "Processor", "Tally", "make_decoder", "port_settings", "replay"]
