"""Provides the simulated devices: profiles (what a device can do) and the runner."""
