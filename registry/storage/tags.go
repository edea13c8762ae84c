package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/opencontainers/go-digest"
)

// Tag points tag at the manifest d, replacing the tag file atomically:
// concurrent pushes of one tag end with one of the values, never a mix.
func (s *Store) Tag(ctx context.Context, name, tag string, d digest.Digest) error {
	release, err := s.lockGC(false) // a collection decides what tags reach under the exclusive lock
	if err != nil {
		return err
	}
	defer release()
	unlock := s.repoLocks.lock(name)
	defer unlock()
	return s.writeLink(ctx, s.tagPath(name, tag), d.String())
}

// DeleteTag removes a tag; the manifest it pointed at stays.
func (s *Store) DeleteTag(ctx context.Context, name, tag string) error {
	unlock := s.repoLocks.lock(name)
	defer unlock()
	path := s.tagPath(name, tag)
	if !exists(path) {
		return fmt.Errorf("tag %s in %s: %w", tag, name, ErrManifestUnknown)
	}
	return s.removeDurably(ctx, path)
}

// Tags lists the repository's tags in lexical order.
func (s *Store) Tags(ctx context.Context, name string) ([]string, error) {
	if !exists(s.tagsDir(name)) && !s.hasManifests(ctx, name) {
		return nil, fmt.Errorf("%s: %w", name, ErrNameUnknown)
	}
	entries, err := os.ReadDir(s.tagsDir(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	tags := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			tags = append(tags, e.Name())
		}
	}
	sort.Strings(tags)
	return tags, nil
}
