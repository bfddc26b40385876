"""Fuzzing harnesses run on demand (`make fuzz-api`); small versions run inside `make test`."""
