"""The Sales API contract suite: Schemathesis + Hypothesis checks of the mock and of live servers."""
