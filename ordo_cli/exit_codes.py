"""The ``ordo`` command's exit codes, stable for scripts.

0   success: the daemon did what was asked (an order placed at every broker it went to)
1   failed or refused: an order no broker took, or a typed error (kill switch, validation,
    unauthorized, not found, ...); the error code is printed
2   partial success: an order placed at some brokers but not all; for ``health``, a
    degraded daemon; for ``audit tail``, events asked for that retention already archived
3   daemon unreachable: no answer within the deadline (down, restarting or overloaded)
64  usage error: bad arguments or an order that fails validation before it is sent (EX_USAGE)
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
FAILED: Final = 1
PARTIAL: Final = 2
UNREACHABLE: Final = 3
USAGE: Final = 64
INTERRUPTED: Final = 130

BY_ORDER_STATUS: Final = {"success": OK, "partial_success": PARTIAL, "failed": FAILED}
