"""Pieces every real (HTTP) broker adapter shares: config sections, credentials, rate
limiting, JWT expiry, encrypted token storage, the session holder, the JSON HTTP client
and the funds pre-check."""
