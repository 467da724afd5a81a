"""Progressive delays after failed sign-ins, per account and client address, never a lockout.

Failures are counted per (account, address) and per address. The wait grows with the
count (1, 2, 4 … up to 15 minutes) and starts only after a few free attempts. Because the
account counter includes the address, someone else's failures from another address never
make the account owner wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from saas.cache import BrandCache

FREE_ATTEMPTS = 3
MAX_DELAY_SECONDS = 15 * 60
WINDOW_SECONDS = 24 * 3600
# Failures an address may have across all accounts before it is slowed down too.
FREE_ATTEMPTS_PER_ADDRESS = 20


@dataclass(frozen=True)
class Wait:
    seconds: int


def _delay(failures: int, free: int) -> int:
    if failures < free:
        return 0
    return min(MAX_DELAY_SECONDS, 2 ** (failures - free))


class SignInThrottle:
    def __init__(self, cache: BrandCache, scope: str) -> None:
        self.cache = cache
        self.scope = scope

    def wait(self, account: str, address: str, now: float | None = None) -> Wait:
        """Seconds the client must wait before its next attempt (0 when it may try now)."""
        now = time.time() if now is None else now
        waits = [self._remaining(self._pair_key(account, address), FREE_ATTEMPTS, now),
                 self._remaining(self._address_key(address), FREE_ATTEMPTS_PER_ADDRESS, now)]
        return Wait(max(waits))

    def failed(self, account: str, address: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for key in (self._pair_key(account, address), self._address_key(address)):
            state = self.cache.get(key) or {"failures": 0, "last": now}
            self.cache.set(key, {"failures": state["failures"] + 1, "last": now},
                           ttl=WINDOW_SECONDS)

    def succeeded(self, account: str, address: str) -> None:
        self.cache.delete(self._pair_key(account, address))

    def _remaining(self, key: str, free: int, now: float) -> int:
        state = self.cache.get(key)
        if not state:
            return 0
        return max(0, int(state["last"] + _delay(state["failures"], free) - now + 0.999))

    def _pair_key(self, account: str, address: str) -> str:
        return f"signin:{self.scope}:account:{account.lower()}:{address}"

    def _address_key(self, address: str) -> str:
        return f"signin:{self.scope}:address:{address}"
