package storage

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/layerlab/layerlab/registry/storage/driver"
)

// Tag points tag at the manifest d, replacing the tag object atomically:
// concurrent pushes of one tag end with one of the values, never a mix.
func (s *Store) Tag(ctx context.Context, name, tag string, d digest.Digest) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	if err := checkDigest(d); err != nil {
		return err
	}
	release, err := s.lockGC(false) // a collection decides what tags reach under the exclusive lock
	if err != nil {
		return err
	}
	defer release()
	unlock := s.repoLocks.lock(name)
	defer unlock()
	defer s.changed(ctx)
	return s.writeLink(ctx, tagKey(name, tag), d.String())
}

// DeleteTag removes a tag; the manifest it pointed at stays.
func (s *Store) DeleteTag(ctx context.Context, name, tag string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkTag(tag); err != nil {
		return err
	}
	unlock := s.repoLocks.lock(name)
	defer unlock()
	defer s.changed(ctx)
	return notFound(s.d.Delete(ctx, tagKey(name, tag)), ErrManifestUnknown, "tag "+tag+" in "+name)
}

// Tags lists the repository's tags in lexical order.
func (s *Store) Tags(ctx context.Context, name string) ([]string, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	tags := []string{}
	err := s.d.List(ctx, tagsPrefix(name), driver.ListOptions{}, func(e driver.Entry) error {
		if !e.Dir {
			tags = append(tags, lastComponent(e.Key))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 && !s.hasManifests(ctx, name) {
		return nil, fmt.Errorf("%s: %w", name, ErrNameUnknown)
	}
	return tags, nil
}
