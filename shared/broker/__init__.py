"""Message broker support for the embedded (SQL) mode."""
