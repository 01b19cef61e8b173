"""Question bank formats: readers (bytes to definitions, row errors) and writers; one registry."""
