#include "storage/sqlite/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

namespace parley::storage::sqlite {
namespace {

// SQLite's methods (pcache1) and the counters. xCreate gets no context pointer, so the methods
// it forwards to can only be found through a static: it is written once, before SQLite starts.
struct Shared {
  sqlite3_pcache_methods2 inner{};
  std::atomic<uint64_t> truncates{0};
  std::atomic<uint64_t> passed_on{0};
};

Shared& Methods() {
  static Shared shared;
  return shared;
}

// A cache moves pages above the highest one it fetched only for a moment (a split reorders its
// new pages through a spare number); more than this many such numbers not moved away again
// means something else is going on, and the cache falls back to passing every truncate on.
constexpr size_t kMaxMoved = 32;

struct Cache {
  sqlite3_pcache* inner = nullptr;
  // No page above max_key is in the inner cache, except at the numbers in `moved`.
  unsigned max_key = 0;
  std::vector<unsigned> moved;

  void Holds(unsigned key) { max_key = std::max(max_key, key); }

  void Moved(unsigned from, unsigned to) {
    if (auto it = std::find(moved.begin(), moved.end(), from); it != moved.end()) moved.erase(it);
    if (to <= max_key) return;
    if (moved.size() < kMaxMoved) {
      moved.push_back(to);
      return;
    }
    for (unsigned k : moved) Holds(k);
    moved.clear();
    Holds(to);
  }

  bool AnyAtOrAbove(unsigned limit) const {
    if (max_key >= limit) return true;
    return std::any_of(moved.begin(), moved.end(), [&](unsigned k) { return k >= limit; });
  }

  void Truncated(unsigned limit) {
    if (limit == 0) {
      max_key = 0;
      moved.clear();
      return;
    }
    max_key = std::min(max_key, limit - 1);
    std::erase_if(moved, [&](unsigned k) { return k >= limit; });
  }
};

Cache* Of(sqlite3_pcache* p) { return reinterpret_cast<Cache*>(p); }

int Init(void*) { return Methods().inner.xInit(Methods().inner.pArg); }

void Shutdown(void*) {
  if (Methods().inner.xShutdown) Methods().inner.xShutdown(Methods().inner.pArg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
  auto* cache = new (std::nothrow) Cache;
  if (!cache) return nullptr;
  cache->inner = Methods().inner.xCreate(page_size, extra_size, purgeable);
  if (!cache->inner) {
    delete cache;
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(cache);
}

void Cachesize(sqlite3_pcache* p, int pages) { Methods().inner.xCachesize(Of(p)->inner, pages); }

int Pagecount(sqlite3_pcache* p) { return Methods().inner.xPagecount(Of(p)->inner); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* p, unsigned key, int create) {
  Cache* cache = Of(p);
  sqlite3_pcache_page* page = Methods().inner.xFetch(cache->inner, key, create);
  if (page) cache->Holds(key);
  return page;
}

void Unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  Methods().inner.xUnpin(Of(p)->inner, page, discard);
}

void Rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned from, unsigned to) {
  Cache* cache = Of(p);
  Methods().inner.xRekey(cache->inner, page, from, to);
  cache->Moved(from, to);
}

void Truncate(sqlite3_pcache* p, unsigned limit) {
  Cache* cache = Of(p);
  Methods().truncates.fetch_add(1, std::memory_order_relaxed);
  if (!cache->AnyAtOrAbove(limit)) return;
  Methods().passed_on.fetch_add(1, std::memory_order_relaxed);
  Methods().inner.xTruncate(cache->inner, limit);
  cache->Truncated(limit);
}

void Destroy(sqlite3_pcache* p) {
  Cache* cache = Of(p);
  Methods().inner.xDestroy(cache->inner);
  delete cache;
}

void Shrink(sqlite3_pcache* p) { Methods().inner.xShrink(Of(p)->inner); }

}  // namespace

bool InstallPageCache() {
  sqlite3_pcache_methods2 inner{};
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK || !inner.xCreate ||
      inner.iVersion < 1)
    return false;
  Methods().inner = inner;
  sqlite3_pcache_methods2 mine{};
  mine.iVersion = 1;
  mine.xInit = Init;
  mine.xShutdown = Shutdown;
  mine.xCreate = Create;
  mine.xCachesize = Cachesize;
  mine.xPagecount = Pagecount;
  mine.xFetch = Fetch;
  mine.xUnpin = Unpin;
  mine.xRekey = Rekey;
  mine.xTruncate = Truncate;
  mine.xDestroy = Destroy;
  mine.xShrink = Shrink;
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &mine) == SQLITE_OK;
}

PageCacheCounts PageCacheCountsNow() {
  return {Methods().truncates.load(std::memory_order_relaxed),
          Methods().passed_on.load(std::memory_order_relaxed)};
}

}  // namespace parley::storage::sqlite
