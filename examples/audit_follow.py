#!/usr/bin/env python3
"""Follow Ordo's audit log live, with no event missed, using nothing but pyzmq and the stdlib.

    export ORDO_TOKEN=$(cat ~/.local/state/ordo/token)
    python examples/audit_follow.py --since 0            # everything, then live
    python examples/audit_follow.py                      # live from now on

Every audit event carries a persistent, gap-free sequence number ``seq``. PUB/SUB may drop
messages (a subscriber that joins late, or falls behind, misses some), so this script
watches the numbers: when an event arrives with a seq beyond the next expected one, the
missing events are fetched with the ``audit_replay`` request and printed first. The output
is every event exactly once, in seq order, one JSON document per line.

If the daemon's retention archived events you ask for, the replay says so (``pruned`` is
true and ``first_available_seq`` names the oldest one left); the script reports it and
carries on from there rather than pretending nothing is missing.
"""

import argparse
import json
import os
import sys

import zmq

PAGE = 500


class Replayer:
    """audit_replay over a REQ socket, recreated after a timeout (lazy pirate)."""

    def __init__(self, ctx, endpoint, token, timeout_s=5.0):
        self.ctx, self.endpoint, self.token, self.timeout_s = ctx, endpoint, token, timeout_s
        self.sock = None

    def replay(self, since):
        if self.sock is None:
            self.sock = self.ctx.socket(zmq.REQ)
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.connect(self.endpoint)
        request = {"v": 1, "op": "audit_replay", "token": self.token, "since": since, "limit": PAGE}
        self.sock.send(json.dumps(request).encode())
        if not self.sock.poll(int(self.timeout_s * 1000), zmq.POLLIN):
            self.sock.close()
            self.sock = None
            raise TimeoutError(f"no reply from {self.endpoint}")
        reply = json.loads(self.sock.recv())
        if not reply["ok"]:
            raise RuntimeError(f"{reply['error']['code']}: {reply['error']['message']}")
        return reply

    def close(self):
        if self.sock is not None:
            self.sock.close()


class Follower:
    def __init__(self, replayer, last_seq, count):
        self.replayer, self.last_seq, self.count, self.printed = replayer, last_seq, count, 0

    @property
    def done(self):
        return self.count is not None and self.printed >= self.count

    def emit(self, event):
        if not self.done and event["seq"] == self.last_seq + 1:
            print(json.dumps(event), flush=True)
            self.last_seq = event["seq"]
            self.printed += 1

    def fill(self, up_to=None):
        """Fetch and print the stored events after last_seq (and before ``up_to``, if given)."""
        while (up_to is None or self.last_seq < up_to - 1) and not self.done:
            reply = self.replayer.replay(self.last_seq)
            if reply["pruned"]:
                first = reply["first_available_seq"]
                print(f"events {self.last_seq + 1}..{first - 1} were archived by retention; "
                      f"continuing from {first}", file=sys.stderr)
                self.last_seq = first - 1
            for event in reply["events"]:
                if up_to is None or event["seq"] < up_to:
                    self.emit(event)
            if len(reply["events"]) < PAGE:
                break


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default=os.environ.get("ORDO_ENDPOINT", "tcp://127.0.0.1:7750"))
    p.add_argument("--pub-endpoint", default=os.environ.get("ORDO_PUB_ENDPOINT", "tcp://127.0.0.1:7751"))
    p.add_argument("--token-file", help="default: $ORDO_TOKEN")
    p.add_argument("--since", type=int, help="print every event after this seq first (default: live only)")
    p.add_argument("--count", type=int, help="stop after this many events")
    args = p.parse_args()
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as fh:
            token = fh.read().strip()
    else:
        token = os.environ.get("ORDO_TOKEN", "")

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"audit.")  # audit events only; "health." would add snapshots
    sub.connect(args.pub_endpoint)
    replayer = Replayer(ctx, args.endpoint, token)
    follower = None if args.since is None else Follower(replayer, args.since, args.count)
    try:
        if follower is not None:
            follower.fill()  # the backlog first; the subscription above keeps what comes meanwhile
        while follower is None or not follower.done:
            _topic, body = sub.recv_multipart()
            event = json.loads(body)
            if follower is None:  # live only: start from the first event we see
                follower = Follower(replayer, event["seq"] - 1, args.count)
            if event["seq"] <= follower.last_seq:
                continue  # already printed from a replay
            if event["seq"] > follower.last_seq + 1:
                print(f"gap: events {follower.last_seq + 1}..{event['seq'] - 1} missed; "
                      "filling with audit_replay", file=sys.stderr)
                follower.fill(up_to=event["seq"])
            follower.emit(event)
    except KeyboardInterrupt:
        pass
    finally:
        replayer.close()
        sub.close()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
