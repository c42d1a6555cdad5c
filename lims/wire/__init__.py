"""Wire shapes: what the CLI's ``--json``, file imports and the HTTP API speak.

One pydantic model per entity and direction — ``ReadingCreate`` in, ``ReadingAccepted`` back
(``readings``); ``SampleResults``/``ResultPublic`` (``results``); ``CasePublic`` with its steps
(``cases``); ``AlertPublic`` (``alerts``). Services return their own objects; these models are
built from them (``from_attributes``) at the edge, so every edge prints the same fields.
"""
