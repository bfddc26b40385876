"""API pagination."""

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=&offset=` for configuration lists (small tables); CDRs use cursor pagination."""

    default_limit = 50
    max_limit = 1000
