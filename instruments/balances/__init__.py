"""Balances and scales: A&D, MT-SICS, Sartorius SBI and Ohaus line formats and simulators."""
