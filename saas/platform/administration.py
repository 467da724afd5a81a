"""Platform administration of console users and their roles in brands.

Each function changes rows of the platform database and records an audit entry in the
same session, so the change and its entry commit together when the caller commits.
``saas.console.accounts.create_user`` creates the console users themselves.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.loyalty.errors import InvalidInput, NotFound
from saas.platform.models import Brand, Delegation, Role, User
from saas.security import audit


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user", value=user_id)
    return user


def _is_actor(user: User, actor: str) -> bool:
    return actor == f"user:{user.email}"


def deactivate_user(db: Session, user_id: int, *, actor: str,
                    client_address: str | None = None) -> User:
    """Stop a user from signing in and end their sessions (the security stamp changes)."""
    user = _user(db, user_id)
    if _is_actor(user, actor):
        raise InvalidInput("you cannot deactivate your own account", field="user",
                           value=user.email)
    if not user.is_active:
        return user
    user.is_active = False
    user.security_stamp = secrets.token_hex(16)
    audit.record(db, actor=actor, action="user.deactivate", target=f"user:{user.email}",
                 before={"active": True}, after={"active": False},
                 client_address=client_address, platform=True)
    return user


def set_platform_admin(db: Session, user_id: int, value: bool, *, actor: str,
                       client_address: str | None = None) -> User:
    """Grant (``value`` true) or revoke platform admin rights."""
    user = _user(db, user_id)
    if not value and _is_actor(user, actor):
        raise InvalidInput("you cannot revoke your own platform admin rights", field="user",
                           value=user.email)
    if user.is_platform_admin == value:
        return user
    audit.record(db, actor=actor,
                 action="user.platform_admin_grant" if value else "user.platform_admin_revoke",
                 target=f"user:{user.email}", before={"platform_admin": user.is_platform_admin},
                 after={"platform_admin": value}, client_address=client_address, platform=True)
    user.is_platform_admin = value
    return user


def grant_delegation(db: Session, email: str, brand_slug: str, role: str, *, actor: str,
                     client_address: str | None = None) -> Delegation:
    """Give the user with ``email`` ``role`` in a brand, replacing any role held there."""
    user = db.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(f"no user with the email {email!r}; create the user first",
                       field="email", value=email)
    brand = db.scalar(select(Brand).where(Brand.slug == brand_slug))
    if brand is None:
        raise NotFound(f"no brand with slug {brand_slug!r}", field="brand", value=brand_slug)
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}: choose one of "
                           f"{', '.join(r.value for r in Role)}", field="role",
                           value=role) from None
    delegation = db.scalar(select(Delegation).where(Delegation.user_id == user.id,
                                                    Delegation.brand_id == brand.id))
    before = None if delegation is None else {"role": str(delegation.role)}
    if delegation is None:
        delegation = Delegation(user_id=user.id, brand_id=brand.id, role=role)
        db.add(delegation)
    else:
        delegation.role = role
    db.flush()
    audit.record(db, actor=actor, action="delegation.grant",
                 target=f"delegation:{user.email}@{brand.slug}", before=before,
                 after={"role": str(role)}, client_address=client_address, platform=True)
    return delegation


def revoke_delegation(db: Session, delegation_id: int, *, actor: str,
                      client_address: str | None = None) -> None:
    """Remove a user's role in a brand."""
    delegation = db.get(Delegation, delegation_id)
    if delegation is None:
        raise NotFound(f"no delegation with id {delegation_id}", field="delegation",
                       value=delegation_id)
    target = f"delegation:{delegation.user.email}@{delegation.brand.slug}"
    audit.record(db, actor=actor, action="delegation.revoke", target=target,
                 before={"role": str(delegation.role)}, after=None,
                 client_address=client_address, platform=True)
    db.delete(delegation)
