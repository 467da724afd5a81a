"""The control plane: brands, their routing, platform users and delegations."""
