"""ordod: the Ordo order-routing daemon."""

__version__ = "0.1.0"
