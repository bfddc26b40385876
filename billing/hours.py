"""The hours of the gateway reports (docs/adr/0007): hours of the console's time zone.

Most time zones are a whole number of hours from UTC, and their hours are UTC hours. Some are
not: Asia/Kolkata (+5:30), Asia/Kathmandu (+5:45), America/St_Johns (−3:30)… Their hours start
at 30 or 15 minutes past each UTC hour, and a report hour must too, or every hour of the page
and every day it sums would straddle two of the console's. So a report hour is a UTC hour
shifted by `hour_shift()`: always 60 minutes, whatever daylight saving time does (it moves
clocks by whole hours), so it never needs the zone's rules; and each falls within one day of
the console's time zone. The SQL (`HOUR_OF_START`, parameter `shift`) and Python
(`floor_hour`) compute the same hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

HOUR = timedelta(hours=1)
# The start of the report hour of a CDR's start_time, in SQL; `shift` is `hour_shift()`.
HOUR_OF_START = "date_trunc('hour', start_time - %(shift)s, 'UTC') + %(shift)s"
# An instant the zone's offset is read at: its minutes are the same all year but for
# Australia/Lord_Howe, whose summer offset is half an hour more (its hours then start at :30).
REFERENCE = datetime(2025, 1, 1, tzinfo=UTC)


def hour_shift() -> timedelta:
    """How far past each UTC hour the hours of the console's time zone (TIME_ZONE) start:
    0 for most zones, 30 minutes for Asia/Kolkata (+5:30) and America/St_Johns (−3:30), 15 for
    Asia/Kathmandu (+5:45: its midnight is 18:15 UTC)."""
    offset = REFERENCE.astimezone(timezone.get_default_timezone()).utcoffset()
    return -(offset or timedelta(0)) % HOUR


def floor_hour(moment: datetime) -> datetime:
    """The start (in UTC) of the report hour holding `moment`."""
    shift = hour_shift()
    shifted = (moment - shift).astimezone(UTC)
    return shifted.replace(minute=0, second=0, microsecond=0) + shift


def ceil_hour(moment: datetime) -> datetime:
    """`moment` if it starts a report hour, else the start of the next one."""
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def floor_day(moment: datetime) -> datetime:
    """The start (in UTC) of the day of the console's time zone holding `moment`."""
    local = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def ceil_day(moment: datetime) -> datetime:
    """`moment` if it starts a day of the console's time zone, else the start of the next."""
    floor = floor_day(moment)
    return floor if floor == moment else floor_day(floor + timedelta(hours=36))
