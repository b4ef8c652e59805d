"""Use cases: one function per thing a user does, called by the REST routes and the commands."""
