"""The desk's state as plain Python: no Textual, no sockets, so it is tested on its own."""
