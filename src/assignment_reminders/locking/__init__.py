"""The job's advisory lock: the lock, its heartbeat, the real-session (pooler) check."""
