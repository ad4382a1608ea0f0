"""Fyers API v3: orders over ``/api/v3``, tagged with ``orderTag``, daily login by auth code."""
