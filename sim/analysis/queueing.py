"""Queueing theory used to verify the model's queue mode.

>>> round(erlang_c(2, 1.0), 4)   # 2 servers, offered load 1 Erlang
0.3333
>>> round(mmc_mean_wait(arrival_rate=1.0, service_rate=1.0, servers=2), 4)
0.3333
"""

from __future__ import annotations

import math


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (offered load a = lambda / mu < c)."""
    c, a = servers, offered_load
    if a >= c:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k! for k = 0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c * c / (c - a)  # a^c / c! * c / (c - a)
    return last / (total + last)


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue (before service) of an M/M/c queue."""
    a = arrival_rate / service_rate
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) / (servers * service_rate - arrival_rate)
