"""Request plumbing shared by every page: tenancy, sessions, security headers, errors."""
