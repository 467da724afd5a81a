"""Authentication building blocks: password hashing and sign-in throttling."""
