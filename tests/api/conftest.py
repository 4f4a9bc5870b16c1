"""Client-mode fixtures (shared with tests/api)."""

from tests.client.fixtures import hand_over, world  # noqa: F401  (fixtures)
