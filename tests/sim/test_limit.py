"""The remote agent's adaptive in-flight limit, fed latencies by hand."""

from __future__ import annotations

import asyncio

from sim.limit import AdaptiveLimit


def answers(limit: AdaptiveLimit, latency: float, count: int) -> None:
    for _ in range(count):
        limit.in_flight += 1
        limit.release(latency)


def test_grows_fast_while_latency_holds_then_backs_off_and_grows_by_one():
    limit = AdaptiveLimit(maximum=64, tolerance=2.0)
    assert limit.limit == 1
    answers(limit, 0.001, 4)
    assert limit.limit == 2
    answers(limit, 0.001, 4)
    answers(limit, 0.0012, 4)
    assert limit.limit == 8
    answers(limit, 0.005, 8)  # five times the lowest: a queue
    assert limit.limit == 6 and not limit.growing_fast
    answers(limit, 0.0015, 6)
    assert limit.limit == 7


def test_never_above_the_sessions_in_flight_nor_below_one():
    limit = AdaptiveLimit(maximum=3, tolerance=2.0)
    for _ in range(10):
        answers(limit, 0.001, 4)
    assert limit.limit == 3
    for _ in range(10):
        answers(limit, 1.0, 4)
    assert limit.limit == 1


def test_requests_beyond_the_limit_wait_their_turn_in_order():
    async def scenario() -> list[str]:
        limit = AdaptiveLimit(maximum=8, tolerance=2.0)
        order: list[str] = []

        async def request(name: str) -> None:
            await limit.acquire()
            order.append(name)

        await limit.acquire()  # the one place there is
        waiting = [asyncio.create_task(request(name)) for name in "abc"]
        await asyncio.sleep(0)
        assert order == [] and limit.in_flight == 1
        limit.release(None)  # a failed request: no latency, the place passes on
        await asyncio.sleep(0)
        assert order == ["a"]
        waiting[1].cancel()  # b gives up while waiting
        limit.release(None)
        await asyncio.gather(waiting[0], waiting[2], return_exceptions=True)
        await asyncio.sleep(0)
        return order

    assert asyncio.run(scenario()) == ["a", "c"]
