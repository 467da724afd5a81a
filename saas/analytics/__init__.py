"""Business intelligence: per-brand daily rollups of the ledger, orders and members, and the
KPIs computed from them."""
