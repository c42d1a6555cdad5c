"""Listening to instruments: every byte journalled, decoded, stored or quarantined.

``journal`` (the raw, fsync'd record of every byte), ``processor`` (bytes from any source →
journal → decoder → ``events.store_event``; serial-free), ``port`` (``lims listen``: the serial
port / pyserial URL loop feeding a processor, reconnecting), ``events`` (decoder events → stored
rows), ``quarantine`` (what could not be stored), ``backlog`` (a busy database: back off, then
catch up from the journal).
"""
