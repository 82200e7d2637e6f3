"""Use cases: one function per operation, over the store, the clock and the pure domain."""
