"""Fake brokers: real aiohttp servers on 127.0.0.1 that speak each broker's documented API,
faults included, so the adapters are tested through their real HTTP path."""
