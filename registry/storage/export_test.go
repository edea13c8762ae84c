package storage

// SetGCHook lets tests act at fixed points of a collection: once it holds
// the GC lease ("lease-taken") and just before it releases it
// ("lease-release"), once every reachable blob is marked ("marked"), after
// a repository's untagged manifests are listed ("untagged-listed") and after
// each batch of deletions released the lock ("untagged-batch").
func SetGCHook(s *Store, fn func(event string)) { s.gcHook = fn }

// CatalogHits counts the catalog answers taken from what was kept.
func CatalogHits(s *Store) int64 { return s.catalog.hits.Load() }

// CachedManifests counts the manifests in the cache of recent ones.
func CachedManifests(s *Store) int {
	s.manifests.mu.Lock()
	defer s.manifests.mu.Unlock()
	return len(s.manifests.m)
}

// ForgetCatalogIndex makes s take its catalog index for not whole, as a
// store opened on a tree an earlier build wrote: pages walk the tree.
func ForgetCatalogIndex(s *Store) { s.indexed.Store(false); s.ready.Store(false) }

// CatalogIndexed reports whether catalog pages of s read the index.
func (s *Store) CatalogIndexed() bool { return s.indexed.Load() }
