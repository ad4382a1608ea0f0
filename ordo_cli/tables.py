"""Human renderings of the daemon's replies: aligned plain-text tables, no colour, so they
read the same in a terminal, a log file and an e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


def broker_results(results: list[dict[str, Any]]) -> str:
    return table(
        ["BROKER", "STATUS", "ORDER ID", "ATTEMPTS", "LATENCY", "ERROR", "MESSAGE"],
        [[r["broker_id"], r["status"], r.get("order_id") or "-", r.get("attempts", 0), _ms(r.get("latency_ms")),
          r.get("error_code") or "", r.get("message") or r.get("broker_message") or ""] for r in results],
    )


def place_reply(reply: dict[str, Any]) -> str:
    replayed = "  (answered from the idempotency store; not placed again)" if reply.get("replayed") else ""
    head = f"{reply['order_ref']}  {reply['status']} ({reply['http_status']})  key={reply['idempotency_key']}{replayed}"
    return head + "\n" + broker_results(reply["results"])


def _order_summary(order: dict[str, Any]) -> str:
    spec = order["order"]
    price = f" @ {spec['price']:g}" if spec.get("price") is not None else ""
    trigger = f" trigger {spec['trigger_price']:g}" if spec.get("trigger_price") is not None else ""
    return f"{spec['side']} {spec['qty']} {spec['symbol']} {spec['order_type']}{price}{trigger}"


def order_detail(order: dict[str, Any]) -> str:
    spec = order["order"]
    lines = [
        f"{order['order_ref']}  {order.get('status') or order['state']}  key={order['idempotency_key']}",
        f"  {_order_summary(order)}  product={spec.get('product')} validity={spec.get('validity')}",
        f"  created {order['created_at']}"
        + (f", completed {order['completed_at']}" if order.get("completed_at") else ""),
    ]
    if order.get("results"):
        lines.append(broker_results(order["results"]))
    return "\n".join(lines)


def orders(orders: list[dict[str, Any]]) -> str:
    if not orders:
        return "no orders"
    return table(
        ["ORDER REF", "CREATED", "ORDER", "STATUS", "BROKERS"],
        [[o["order_ref"], o["created_at"][:19].replace("T", " "), _order_summary(o), o.get("status") or o["state"],
          " ".join(f"{r['broker_id']}:{r['status']}" for r in o.get("results", []))] for o in orders],
    )


def _why(state: dict[str, Any]) -> str:
    return f"{state['reason'] or 'no reason given'} (set by {state['set_by']} at {state['set_at']})"


def kill_switch(state: dict[str, Any], flattened: list[dict[str, Any]] | None = None) -> str:
    if not state["active"]:
        since = f" (since {state['set_at']} by {state['set_by']})" if state.get("set_at") else ""
        lines = [f"kill switch off{since}"]
    else:
        lines = [f"KILL SWITCH ON: {_why(state)}"]
    for broker_id, iso in sorted(state.get("isolated", {}).items()):
        lines.append(f"{broker_id} ISOLATED: {_why(iso)}")
    if flattened:
        lines.append(table(["ORDER REF", "BROKER", "ORDER ID", "CANCEL", "ERROR"],
                           [[r["order_ref"], r["broker_id"], r["order_id"], r["status"], r.get("error_code") or ""]
                            for r in flattened]))
    return "\n".join(lines)


def health(health: dict[str, Any]) -> str:
    head = (f"ordod {health['version']}  status={health['status']}  uptime={health['uptime_s']:.0f}s  "
            f"in-flight={health['in_flight_orders']}  audit-seq={health['audit_seq']}")
    brokers = table(
        ["BROKER", "ADAPTER", "ENABLED", "SESSION", "BREAKER", "LATENCY", "ERR%", "LAST ERROR"],
        [[b["broker_id"], b["adapter"], "yes" if b["enabled"] else "no", b["session"], b["breaker"],
          _ms(b["last_latency_ms"]), f"{b['error_rate'] * 100:.1f}%", b["last_error"] or ""]
         for b in health["brokers"]],
    )
    return "\n".join([head, kill_switch(health["kill_switch"]), brokers])


def audit_event(event: dict[str, Any]) -> str:
    where = " ".join(part for part in (event.get("order_ref"), event.get("broker_id")) if part)
    data = " ".join(f"{k}={v}" for k, v in event.get("data", {}).items()
                    if v not in (None, "") and not isinstance(v, dict | list))
    return f"{event['seq']:>8}  {event['ts']}  {event['type']:<22} {where}  {data}".rstrip()
