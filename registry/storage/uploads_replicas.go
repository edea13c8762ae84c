package storage

import (
	"context"
	"errors"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// The limit of open sessions per client (StartUploadFor) counts the
// sessions this process started. With replicas on one bucket, a session
// started here is often finished or cancelled by another replica, which
// this process never hears of: its entry would stay, and the client's
// count would only grow until every new session was refused. So when a
// client reaches the limit, the sessions counted for it are looked up in
// the store first, and those gone from it are forgotten. Only then is the
// client refused. The lookups cost one request per session, and only at
// the limit.

// openFor counts the sessions started here for client; the caller holds s.mu.
func (s *Store) openFor(client string) int {
	open := 0
	for _, st := range s.uploads {
		if st.client == client {
			open++
		}
	}
	return open
}

// forgetGoneFor forgets the sessions counted for client that the store no
// longer holds.
func (s *Store) forgetGoneFor(ctx context.Context, client string) {
	s.mu.Lock()
	var ids []string
	for id, st := range s.uploads {
		if st.client == client && st.started { // a start still in flight is not in the store yet
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		_, err := s.d.ResumeUpload(ctx, uploadPrefix(id))
		if !errors.Is(err, driver.ErrNotFound) {
			continue // still there, or unknown: it counts
		}
		s.mu.Lock()
		if st := s.uploads[id]; st != nil && st.client == client && st.started && st.mu.TryLock() {
			delete(s.uploads, id)
			st.mu.Unlock()
		}
		s.mu.Unlock()
	}
}
