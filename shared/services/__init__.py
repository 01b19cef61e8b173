"""Business rules. A service takes the session, may flush, never commits."""
