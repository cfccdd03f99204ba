"""The pure core: the world as values, agreement lifecycles, the release rules and the engine.

Imports only the standard library; reads no clock, file, environment or randomness.
"""
