"""Use cases: one function per thing a user does (decide, capture, change, post an event,
release a hold, pay, return, approve, simulate); the doors (REST routes and commands in `api/`)
call them and only translate a request into a call and its result into an answer. A use case
owns its transaction (or, for events, hands them to the orchestrator's unit of work, which
groups concurrent events into one) and calls the core (`engine/`) and the adapters."""
