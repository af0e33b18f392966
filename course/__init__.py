"""Provides the relaylab terminal app: the course map, lessons, knowledge checks, interview
practice, flashcards, live labs and progress, on top of ``engine.services``."""
