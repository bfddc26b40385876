"""The VOS3000-compatible Web API (SPEC §9) and its access control."""
