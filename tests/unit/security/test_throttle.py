from saas.cache import BrandCache, MemoryStore
from saas.security.throttle import FREE_ATTEMPTS, SignInThrottle


def throttle():
    return SignInThrottle(BrandCache("shop", None, MemoryStore()), "member")


def test_free_attempts_without_wait():
    limiter = throttle()
    for _ in range(FREE_ATTEMPTS - 1):
        limiter.failed("a@x.test", "10.0.0.1", now=100.0)
    assert limiter.wait("a@x.test", "10.0.0.1", now=100.0).seconds == 0


def test_wait_grows_with_failures():
    limiter = throttle()
    waits = []
    for _ in range(FREE_ATTEMPTS + 3):
        limiter.failed("a@x.test", "10.0.0.1", now=100.0)
        waits.append(limiter.wait("a@x.test", "10.0.0.1", now=100.0).seconds)
    assert waits[-4:] == [1, 2, 4, 8]


def test_other_address_failures_do_not_slow_owner():
    limiter = throttle()
    for _ in range(10):
        limiter.failed("a@x.test", "203.0.113.9", now=100.0)
    assert limiter.wait("a@x.test", "10.0.0.1", now=100.0).seconds == 0
    assert limiter.wait("a@x.test", "203.0.113.9", now=100.0).seconds > 0


def test_success_clears_account_failures():
    limiter = throttle()
    for _ in range(FREE_ATTEMPTS + 2):
        limiter.failed("a@x.test", "10.0.0.1", now=100.0)
    limiter.succeeded("a@x.test", "10.0.0.1")
    assert limiter.wait("a@x.test", "10.0.0.1", now=100.0).seconds == 0


def test_wait_ends_after_delay():
    limiter = throttle()
    for _ in range(FREE_ATTEMPTS + 2):
        limiter.failed("a@x.test", "10.0.0.1", now=100.0)
    assert limiter.wait("a@x.test", "10.0.0.1", now=103.0).seconds == 1
    assert limiter.wait("a@x.test", "10.0.0.1", now=104.0).seconds == 0
