"""Core of the console: system parameters, roles and users, the audit log, navigation and the
generic page and API machinery that the softswitch, billing and blacklist apps build on."""
