"""Billing: call detail records (CDRs), their codes, partitions and queries."""
