"""Field stations and the central server (issue 15).

A station (a laptop with SQLite, often offline) pulls places, vendors with their grades and
instruments from the central server (``pull``) and pushes its results up (``push``) through the
server's HTTP API, which puts them through the same intake pipeline as every other reading.
"""
