"""Broker adapters: one folder per broker behind one interface (``base.BrokerAdapter``)."""
