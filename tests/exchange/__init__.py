"""Tests of the simulated exchange."""
