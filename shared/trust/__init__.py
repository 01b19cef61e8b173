"""Trust: submission receipts, the tamper-evident attempt trail, regrade rollback."""
