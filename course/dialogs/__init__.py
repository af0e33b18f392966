"""Provides the app's modal dialogs; each returns its answer through ``dismiss``."""
