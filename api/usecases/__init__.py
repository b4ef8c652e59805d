"""Use cases: one function per thing a user does; the doors (REST, command line) call them."""
