"""Blacklists: static black/white list groups, the system white list and the dynamic blacklist."""
