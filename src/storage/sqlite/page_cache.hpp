#pragma once
// SQLite's own page cache (pcache1), wrapped so that the truncate at the end of every
// transaction costs nothing when there is nothing to truncate.
//
// Why: pcache1 remembers the highest page number it ever held (iMaxKey) and, when told to drop
// the pages above the database's end, walks every hash bucket of the cache if that number is
// more than one hash table's length past the end. A b-tree split that puts its new pages in
// order moves one of them for a moment to the lock-byte page (page 262,145 with 4 KiB pages);
// pcache1 never forgets that number until the next truncate, so the truncate at the following
// commit walks the whole cache, ~16,000 buckets with 64 MiB of cache. On the busy-day join
// that walk was 15-19 % of the writer thread (docs/performance.md, session 19).
//
// The wrapper keeps, per cache, the highest page number fetched and the few page numbers a page
// was moved to above it, and passes the truncate on only when one of them reaches the limit.
// Everything else is SQLite's own code. The state is per cache (one cache per connection, so
// one thread at a time); the only process-wide state is SQLite's own methods, filled once.

#include <cstdint>

namespace parley::storage::sqlite {

// Installs the wrapper; must run before SQLite initialises (Db::Open calls it once per
// process). False when SQLite refused (it was initialised already): then pcache1 runs as is.
bool InstallPageCache();

// Truncates asked for and truncates passed on to pcache1, over the process (for tests).
struct PageCacheCounts {
  uint64_t truncates = 0;
  uint64_t passed_on = 0;
};
PageCacheCounts PageCacheCountsNow();

}  // namespace parley::storage::sqlite
