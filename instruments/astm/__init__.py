"""ASTM E1381 (low level) and E1394 (records): codec, receiver, sender and simulator."""
