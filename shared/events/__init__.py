"""Events out of the process: the outbox, webhook endpoints and their deliveries."""
