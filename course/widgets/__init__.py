"""Provides the app's reusable widgets."""
