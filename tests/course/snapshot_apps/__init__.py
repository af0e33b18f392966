"""Apps under snapshot test: the relaylab app on the test course with a seeded, fixed progress store."""
