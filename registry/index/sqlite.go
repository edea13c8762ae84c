package index

import (
	"database/sql"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure Go SQLite: no cgo, the binary stays static
)

// Schema is the SQL schema, with its comments and views.
//
//go:embed schema.sql
var Schema string

// OpenSQL loads a snapshot into a new in-memory SQLite database.
func OpenSQL(snap *Snapshot) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if err := load(db, snap); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Export writes a snapshot as a SQLite database file at path, replacing
// any file there only once the new one is complete.
func Export(snap *Snapshot, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*.db")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	db, err := sql.Open("sqlite", tmp.Name()+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	err = load(db, snap)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Query runs one query and returns its columns and rows, text as
// strings, integers as int64, NULL as nil.
func Query(db *sql.DB, query string) ([]string, [][]any, error) {
	rs, err := db.Query(query)
	if err != nil {
		return nil, nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, nil, err
	}
	var rows [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		rows = append(rows, vals)
	}
	return cols, rows, rs.Err()
}

// load creates the schema and inserts the snapshot in one transaction.
func load(db *sql.DB, snap *Snapshot) error {
	if _, err := db.Exec(Schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := inserter{tx: tx, stmts: map[string]*sql.Stmt{}}
	for _, r := range snap.Repositories {
		ins.row("repositories", r.Name)
		for _, t := range r.Tags {
			ins.row("tags", r.Name, t.Name, t.Digest.String())
		}
		for _, rev := range r.Revisions {
			if snap.Manifests[rev.Digest] != nil {
				ins.row("repository_manifests", r.Name, rev.Digest.String(), rev.Pushed.Format(time.RFC3339))
			}
		}
		for _, d := range r.Links {
			ins.row("blob_links", r.Name, d.String())
		}
	}
	for _, m := range snap.Manifests {
		ins.row("manifests", m.Digest.String(), m.MediaType, null(m.ArtifactType), m.Kind, m.Size, null(string(m.Subject)),
			null(m.Created), null(platform(m.OS, m.Architecture, m.Variant)), len(m.Chains), null(top(m.Chains)))
		for _, r := range m.Refs {
			chain := ""
			if r.Role == RoleLayer {
				chain = m.Chains[r.Position]
			}
			ins.row("manifest_blobs", m.Digest.String(), r.Role, r.Position, r.Digest.String(), r.Size, r.MediaType,
				null(r.Platform), boolInt(r.External), null(chain))
		}
		for i, step := range m.History {
			if step != "" {
				ins.row("history", m.Digest.String(), i, step)
			}
		}
	}
	for d, size := range snap.Blobs {
		ins.row("blobs", d.String(), size)
	}
	for _, u := range snap.Uploads {
		ins.row("uploads", u.ID, u.Repository, u.Size, u.Started.UTC().Format(time.RFC3339))
	}
	if ins.err != nil {
		return ins.err
	}
	return tx.Commit()
}

// inserter prepares one INSERT per table and remembers the first error.
type inserter struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	err   error
}

func (in *inserter) row(table string, values ...any) {
	if in.err != nil {
		return
	}
	st := in.stmts[table]
	if st == nil {
		q := "INSERT INTO " + table + " VALUES (?"
		for range values[1:] {
			q += ", ?"
		}
		if st, in.err = in.tx.Prepare(q + ")"); in.err != nil {
			return
		}
		in.stmts[table] = st
	}
	if _, err := st.Exec(values...); err != nil {
		in.err = fmt.Errorf("insert into %s: %w", table, err)
	}
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func top(chains []string) string {
	if len(chains) == 0 {
		return ""
	}
	return chains[len(chains)-1]
}

func platform(os, arch, variant string) string {
	if os == "" && arch == "" {
		return ""
	}
	p := os + "/" + arch
	if variant != "" {
		p += "/" + variant
	}
	return p
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
