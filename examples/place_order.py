#!/usr/bin/env python3
"""Place one order through Ordo from a script, safely, with nothing but pyzmq and the stdlib.

    export ORDO_TOKEN=$(cat ~/.local/state/ordo/token)        # or --token-file
    python examples/place_order.py --key rebalance-2024-06-03-sbin \\
        --symbol NSE:SBIN-EQ --side BUY --qty 1 --type LIMIT --price 500

The one rule: choose the idempotency key BEFORE the first attempt and reuse it for every
retry. A timeout tells you nothing about whether the order went out; resending it with the
same key is always safe, because ordod answers a key it has seen from its store (the reply
then says "replayed": true) and never places the order twice. A new key would be a new order.

The retry loop is ZeroMQ's "lazy pirate" pattern: a REQ socket that sent a request and got
no reply cannot send again, so after a timeout it is closed and a fresh one is made.

Exit codes match the `ordo` command: 0 placed everywhere, 2 partial success, 1 failed or
refused, 3 no answer after every attempt.
"""

import argparse
import json
import os
import sys
import time
import uuid

import zmq

IN_FLIGHT = "IDEMPOTENCY_KEY_IN_FLIGHT"  # the first attempt is still being placed: ask again


def request_with_retries(ctx, endpoint, message, timeout_s, attempts):
    """Send ``message`` until a definitive reply comes back; None if none ever does."""
    body = json.dumps(message).encode()
    for attempt in range(1, attempts + 1):
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)  # never block on exit with an unsent request
        sock.connect(endpoint)
        try:
            sock.send(body)
            if sock.poll(int(timeout_s * 1000), zmq.POLLIN):
                reply = json.loads(sock.recv())
                if reply.get("ok") or reply["error"]["code"] != IN_FLIGHT:
                    return reply
                print(f"attempt {attempt}: still being placed; asking again", file=sys.stderr)
            else:
                print(f"attempt {attempt}: no reply within {timeout_s}s; retrying with the same key",
                      file=sys.stderr)
        finally:
            sock.close()  # lazy pirate: a REQ socket that missed its reply is thrown away
        time.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default=os.environ.get("ORDO_ENDPOINT", "tcp://127.0.0.1:7750"))
    p.add_argument("--token-file", help="default: $ORDO_TOKEN")
    p.add_argument("--key", default=None, help="idempotency key; reuse it to retry this order (default: new)")
    p.add_argument("--symbol", required=True)
    p.add_argument("--side", required=True, choices=["BUY", "SELL"])
    p.add_argument("--qty", required=True, type=int)
    p.add_argument("--type", required=True, dest="order_type", choices=["MARKET", "LIMIT", "SL", "SL-M"])
    p.add_argument("--price", type=float)
    p.add_argument("--trigger-price", type=float)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each reply")
    p.add_argument("--attempts", type=int, default=5)
    args = p.parse_args()

    if args.token_file:
        with open(args.token_file, encoding="utf-8") as fh:
            token = fh.read().strip()
    else:
        token = os.environ.get("ORDO_TOKEN", "")
    key = args.key or f"script-{uuid.uuid4()}"
    print(f"idempotency key: {key}", file=sys.stderr)  # keep it: it is how you retry or look up

    order = {"symbol": args.symbol, "side": args.side, "qty": args.qty, "order_type": args.order_type}
    if args.price is not None:
        order["price"] = args.price
    if args.trigger_price is not None:
        order["trigger_price"] = args.trigger_price
    message = {"v": 1, "op": "place_order", "id": key, "token": token, "idempotency_key": key, "order": order}

    ctx = zmq.Context()
    try:
        reply = request_with_retries(ctx, args.endpoint, message, args.timeout, args.attempts)
    finally:
        ctx.term()
    if reply is None:
        print(f"no answer; the order may or may not be placed. Re-run with --key {key} to find out.",
              file=sys.stderr)
        return 3
    print(json.dumps(reply))
    if not reply["ok"]:
        print(f"refused: {reply['error']['code']}: {reply['error']['message']}", file=sys.stderr)
        return 1
    return {"success": 0, "partial_success": 2}.get(reply["status"], 1)


if __name__ == "__main__":
    sys.exit(main())
