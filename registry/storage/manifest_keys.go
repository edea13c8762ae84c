package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Go's JSON decoder matches keys to struct fields without regard to case
// and lets the last duplicate win, and replaces invalid UTF-8 silently. A
// manifest with "layers" and "LAYERS" would then be checked by this
// registry on one list of layers while a client that reads keys exactly
// pulls the other. So before decoding, every object's keys are checked:
// no key twice, and no key that equals a field the registry reads but for
// case; and the bytes must be valid UTF-8.

// objectKind is what an object decodes into.
type objectKind int

const (
	otherObject objectKind = iota // a map, or nothing the registry reads
	manifestObject
	descriptorObject
	platformObject
)

var fieldsOf = [...][]string{
	manifestObject:   {"schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests", "subject", "annotations"},
	descriptorObject: {"mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"},
	platformObject:   {"architecture", "os", "os.version", "os.features", "variant"},
}

// checkKeys refuses a manifest whose keys could be read two ways. It
// scans the bytes once, unescaping only keys that hold escapes; a syntax
// error is left to the decoder that runs next, which reports it.
func checkKeys(body []byte) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("not valid UTF-8: %w", ErrManifestInvalid)
	}
	p := keyScanner{b: body}
	if err := p.value(manifestObject); err != nil && err != errSyntax {
		return fmt.Errorf("%v: %w", err, ErrManifestInvalid)
	}
	return nil
}

var errSyntax = errors.New("JSON syntax error")

// keyScanner walks JSON bytes checking the keys of every object.
type keyScanner struct {
	b []byte
	i int
}

func (p *keyScanner) skipSpace() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// next skips white space and returns the byte there (0 at the end).
func (p *keyScanner) next() byte {
	p.skipSpace()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

// value reads one JSON value; kind is what an object here decodes into.
// The elements of an array are of the array's kind.
func (p *keyScanner) value(kind objectKind) error {
	switch p.next() {
	case '{':
		return p.object(kind)
	case '[':
		p.i++
		if p.next() == ']' {
			p.i++
			return nil
		}
		for {
			if err := p.value(kind); err != nil {
				return err
			}
			switch p.next() {
			case ',':
				p.i++
			case ']':
				p.i++
				return nil
			default:
				return errSyntax
			}
		}
	case '"':
		_, err := p.str()
		return err
	case 0:
		return errSyntax
	default: // number, true, false, null
		for p.i < len(p.b) && !strings.ContainsRune(",}] \t\n\r", rune(p.b[p.i])) {
			p.i++
		}
		return nil
	}
}

func (p *keyScanner) object(kind objectKind) error {
	p.i++
	if p.next() == '}' {
		p.i++
		return nil
	}
	var buf [8][]byte
	seen := keySet{list: buf[:0]}
	for {
		if p.next() != '"' {
			return errSyntax
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		if seen.add(key) {
			return fmt.Errorf("key %q appears twice in one object", key)
		}
		for _, f := range fieldsOf[kind] {
			if string(key) != f && bytes.EqualFold(key, []byte(f)) {
				return fmt.Errorf("key %q differs from %q only in case", key, f)
			}
		}
		if p.next() != ':' {
			return errSyntax
		}
		p.i++
		if err := p.value(childKind(kind, key)); err != nil {
			return err
		}
		switch p.next() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// keySet holds the keys of one object: a short list, a map when large.
type keySet struct {
	list [][]byte
	m    map[string]bool
}

// add adds key and reports whether it was there already.
func (k *keySet) add(key []byte) bool {
	if k.m == nil && len(k.list) < 16 {
		for _, l := range k.list {
			if bytes.Equal(l, key) {
				return true
			}
		}
		k.list = append(k.list, key)
		return false
	}
	if k.m == nil {
		k.m = map[string]bool{}
		for _, l := range k.list {
			k.m[string(l)] = true
		}
	}
	if k.m[string(key)] {
		return true
	}
	k.m[string(key)] = true
	return false
}

// str reads a string at p.i (on its opening quote) and returns its value
// (the bytes themselves when it holds no escape).
func (p *keyScanner) str() ([]byte, error) {
	start, escaped := p.i, false
	for p.i++; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '\\':
			escaped = true
			p.i++
		case '"':
			p.i++
			raw := p.b[start:p.i]
			if !escaped {
				return raw[1 : len(raw)-1], nil
			}
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return nil, errSyntax
			}
			return []byte(s), nil
		}
	}
	return nil, errSyntax
}

// childKind is what the value of key in an object of kind decodes into.
func childKind(kind objectKind, key []byte) objectKind {
	switch k := string(key); {
	case kind == manifestObject && (k == "config" || k == "subject" || k == "layers" || k == "manifests"):
		return descriptorObject
	case kind == descriptorObject && k == "platform":
		return platformObject
	}
	return otherObject
}
