"""Command groups of the ``tessera`` CLI beyond brand management."""
