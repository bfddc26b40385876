"""The softswitch's business rules as plain functions and small classes (DESIGN §2).

They take parsed events and domain objects (`domain.py`) and return decisions; they know
nothing of sockets, asyncio, Django or the clock (time is passed in). The engine
(`softswitch.engine`) feeds them and carries their decisions out.
"""
