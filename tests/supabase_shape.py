"""The host application's objects that tests/supabase_shape.sql creates in public.

Installing the service must leave each of them exactly as it found it.
"""

from __future__ import annotations

HOST_TABLES = ("profiles",)
HOST_VIEWS = ("profile_names",)
HOST_FUNCTIONS = ("profile_count",)
HOST_SEQUENCES = ("invoice_numbers",)
