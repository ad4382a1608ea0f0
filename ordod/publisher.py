"""Sends events on the PUB socket: topic frame, then the JSON event."""

from __future__ import annotations

import logging

import zmq

from ordo_shared.codec import encode_event
from ordo_shared.models import Event
from ordod.audit import AuditRecord
from ordod.multipart import send_nowait

log = logging.getLogger("ordod.publisher")


class EventPublisher:
    def __init__(self, socket: zmq.Socket[bytes] | None) -> None:
        self._socket = socket
        self.sent = 0

    def publish(self, event: Event | AuditRecord) -> None:
        if self._socket is None:
            return
        try:
            frames = event.frames() if isinstance(event, AuditRecord) else encode_event(event)
            send_nowait(self._socket, frames)
            self.sent += 1
        except zmq.Again:
            log.warning("event dropped: publisher queue full (seq=%s)", event.seq)
        except zmq.ZMQError as exc:
            log.warning("event not published: %s", exc)
