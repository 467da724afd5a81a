"""Load a brand's earn rules from its database for the evaluator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.loyalty.models import EarnRule
from saas.loyalty.rules import RuleSpec


def load_rules(session: Session) -> list[RuleSpec]:
    """Active rules, in evaluation order (the evaluator sorts again, so order is a courtesy)."""
    rows = session.scalars(
        select(EarnRule).where(EarnRule.active.is_(True)).order_by(EarnRule.priority, EarnRule.code)
    )
    return [RuleSpec.from_model(row) for row in rows]
