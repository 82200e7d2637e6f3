"""Pure domain logic of the Sales API: standard library only, no web imports, no clocks.

Every function takes ``today``/``now`` as arguments; nothing here reads the time.
"""
