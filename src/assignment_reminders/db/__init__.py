"""The database: connections, the one gateway for SQL (named queries in sql/*.sql), migrations."""
