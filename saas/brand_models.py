"""Import every model that lives in a brand database, so its metadata is complete."""

from saas.analytics import models as _analytics  # noqa: F401
from saas.analytics import reports as _reports  # noqa: F401
from saas.analytics import segments as _segments  # noqa: F401
from saas.api import models as _api  # noqa: F401
from saas.api import webhooks as _webhooks  # noqa: F401
from saas.db import BrandModel
from saas.jobs import models as _jobs  # noqa: F401
from saas.loyalty import claims as _claims  # noqa: F401
from saas.loyalty import models as _loyalty  # noqa: F401
from saas.notifications import outbox as _outbox  # noqa: F401
from saas.portal import accounts as _accounts  # noqa: F401
from saas.portal import preferences as _preferences  # noqa: F401
from saas.security import audit as _audit  # noqa: F401
from saas.tenancy import settings as _settings  # noqa: F401

__all__ = ["BrandModel"]
