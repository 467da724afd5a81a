"""The customer portal on each brand's host."""
