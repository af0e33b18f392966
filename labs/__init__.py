"""Provides the mock Exchange Online tenant and the simulated devices that send mail to it."""
