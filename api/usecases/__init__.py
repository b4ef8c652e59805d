"""Use cases: one function per thing a user does (decide, capture, change, post an event,
release a hold, pay, return, approve, simulate). Each owns its transaction and calls the core
(`engine/`) and the adapters; the doors (REST routes and commands in `api/`) only translate a
request into a call and its result into an answer."""
