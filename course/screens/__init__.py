"""Provides the app's screens, one per file."""
