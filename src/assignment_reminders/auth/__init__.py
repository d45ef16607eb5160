"""Who is calling: the principal, Supabase access tokens and the project's signing keys."""
