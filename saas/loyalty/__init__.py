"""The loyalty domain: members, orders, the points ledger, earn rules, rewards and tiers.

Nothing here imports Flask, so the portal, the consoles, the partner API, imports and jobs
all call the same functions.
"""
