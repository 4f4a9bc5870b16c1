"""Use cases: services hold the rules, flush and never commit (the view or command commits once)."""
