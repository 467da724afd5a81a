"""A brand's own settings (policies, theme, point value) in its database, behind one accessor.

Each setting is declared once with its default and a validator, so a typo in a key or a
wrong type fails where it is written rather than where it is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from saas.db import BrandModel, UTCDateTime, utcnow


class BrandSetting(BrandModel):
    __tablename__ = "brand_setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class SettingSpec:
    default: Any
    validate: Callable[[Any], Any]


_SPECS: dict[str, SettingSpec] = {}


def declare_setting(key: str, default: Any, validate: Callable[[Any], Any]) -> None:
    """Declare setting ``key``; ``validate`` returns the clean value or raises ValueError."""
    _SPECS[key] = SettingSpec(default, validate)


def _spec(key: str) -> SettingSpec:
    try:
        return _SPECS[key]
    except KeyError:
        raise KeyError(f"unknown brand setting {key!r}; declare it with declare_setting") from None


def get_setting(session: Session, key: str) -> Any:
    spec = _spec(key)
    row = session.get(BrandSetting, key)
    return spec.default if row is None else json.loads(row.value)


def put_setting(session: Session, key: str, value: Any) -> Any:
    """Validate and store ``value``; the caller commits."""
    clean = _spec(key).validate(value)
    row = session.get(BrandSetting, key)
    if row is None:
        session.add(BrandSetting(key=key, value=json.dumps(clean)))
    else:
        row.value = json.dumps(clean)
    return clean
