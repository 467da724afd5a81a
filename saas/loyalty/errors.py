"""Domain errors. Each has a stable ``code``; the API maps codes to HTTP statuses."""

from __future__ import annotations

from typing import Any


class LoyaltyError(Exception):
    """A request the domain rejects; ``field`` and ``value`` name the offending input."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.details = details

    def as_json(self) -> dict[str, Any]:
        data = {"code": self.code, "message": self.message}
        if self.field is not None:
            data["field"] = self.field
        if self.value is not None:
            data["value"] = self.value if isinstance(self.value, (int, str)) else str(self.value)
        data.update(self.details)
        return data


class InvalidInput(LoyaltyError):
    code = "invalid_input"


class NotFound(LoyaltyError):
    code = "not_found"


class MemberNotActive(LoyaltyError):
    code = "member_not_active"


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"


class NegativeBalance(LoyaltyError):
    code = "negative_balance"


class OutOfStock(LoyaltyError):
    code = "out_of_stock"


class LimitReached(LoyaltyError):
    code = "limit_reached"


class RewardUnavailable(LoyaltyError):
    code = "reward_unavailable"


class VoucherNotUsable(LoyaltyError):
    code = "voucher_not_usable"


class OrderConflict(LoyaltyError):
    code = "order_conflict"


class RefundTooLarge(LoyaltyError):
    code = "refund_too_large"


class NoExchangeRate(LoyaltyError):
    code = "no_exchange_rate"


class IdempotencyMismatch(LoyaltyError):
    """The key was used before with a different request."""

    code = "idempotency_mismatch"


class IdempotencyInFlight(LoyaltyError):
    """The first request with this key has not finished yet."""

    code = "idempotency_in_flight"
