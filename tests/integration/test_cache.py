"""Cache entries are bound to one brand, on Redis and in the embedded store."""

import pytest
from redis import Redis

from saas.cache import BrandCache, MemoryStore


@pytest.fixture(params=["memory", "redis"])
def caches(request):
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
        redis = Redis.from_url(request.getfixturevalue("redis_url"))
    else:
        redis = None
    store = MemoryStore()
    return BrandCache("alpha", redis, store), BrandCache("beta", redis, store)


def test_entry_of_one_brand_not_read_by_other(caches):
    alpha, beta = caches
    alpha.set("tiers", {"gold": 5000})
    assert alpha.get("tiers") == {"gold": 5000}
    assert beta.get("tiers") is None


def test_clear_leaves_other_brand(caches):
    alpha, beta = caches
    alpha.set("tiers", 1)
    beta.set("tiers", 2)
    alpha.clear()
    assert alpha.get("tiers") is None
    assert beta.get("tiers") == 2


def test_slug_prefix_cannot_reach_longer_slug():
    store = MemoryStore()
    short, longer = BrandCache("ab", None, store), BrandCache("ab-c", None, store)
    longer.set("k", 1)
    short.clear()
    assert longer.get("k") == 1


def test_cache_requires_brand():
    with pytest.raises(ValueError, match="brand slug"):
        BrandCache("", None, MemoryStore())


@pytest.mark.redis
def test_unreachable_redis_is_a_miss():
    cache = BrandCache("alpha", Redis(port=1, socket_connect_timeout=0.2), MemoryStore())
    cache.set("k", 1)
    assert cache.get("k", "fallback") == "fallback"
