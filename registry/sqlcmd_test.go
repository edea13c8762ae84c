package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/layerlab/layerlab/registry/index/indextest"
	"github.com/layerlab/layerlab/registry/storage"
)

func TestSQLCommand(t *testing.T) {
	root := t.TempDir()
	s, err := storage.Open(root, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	f := indextest.Build(t, s)
	q := "SELECT repository, tag FROM tags WHERE repository LIKE 'lab/%' ORDER BY 1"

	code, out, errOut := runCmd(t, "sql", "--root", root, q)
	want := "REPOSITORY  TAG\nlab/app     1\nlab/base    1\nlab/multi   1\nlab/tool    1\n"
	if code != 0 || out != want || !strings.Contains(errOut, "(4 rows)") {
		t.Fatalf("table: exit %d\n%s\nwant\n%s\nstderr %s", code, out, want, errOut)
	}
	code, out, _ = runCmd(t, "sql", "--root", root, "--csv", "SELECT manifest, created_by FROM history WHERE position = 2 AND manifest = '"+f.Derived.Digest.String()+"'")
	if want := "manifest,created_by\n" + f.Derived.Digest.String() + "," + indextest.StepL3 + "\n"; code != 0 || out != want {
		t.Fatalf("csv: exit %d\n%q\nwant %q", code, out, want)
	}
	code, out, _ = runCmd(t, "sql", "--root", root, "--json", "SELECT saved_bytes, NULL AS missing FROM dedup")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) != 1 || rows[0]["saved_bytes"].(float64) < 3634 || rows[0]["missing"] != nil {
		t.Fatalf("json: exit %d, %v: %s", code, err, out)
	}

	db := filepath.Join(t.TempDir(), "registry.db")
	if code, _, errOut := runCmd(t, "sql", "--root", root, "--export", db); code != 0 || !strings.Contains(errOut, "sqlite3 "+db) {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	if sqlite3, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(sqlite3, db, "SELECT count(*) FROM images").CombinedOutput()
		if err != nil || string(out) != "6\n" {
			t.Fatalf("sqlite3 on the export: %v: %q", err, out)
		}
	}

	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"sql", "--root", root}, 2, "give a query"},
		{[]string{"sql", "--root", root, "--export", db, "SELECT 1"}, 2, "no query"},
		{[]string{"sql", "--root", root, "--json", "--csv", "SELECT 1"}, 2, "exclude"},
		{[]string{"sql", "--root", root, "SELEKT 1"}, 1, "syntax error"},
		{[]string{"sql", "--root", root, "--export", filepath.Join(root, "no", "such", "dir.db")}, 1, "export"},
	} {
		if code, _, errOut := runCmd(t, c.args...); code != c.code || !strings.Contains(errOut, c.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.err)
		}
	}
	nowhere := filepath.Join(t.TempDir(), "not-a-store")
	if code, out, _ := runCmd(t, "sql", "--root", nowhere, "--schema"); code != 0 || !strings.Contains(out, "CREATE VIEW built_on") {
		t.Errorf("--schema: exit %d", code)
	}
	if _, err := os.Stat(nowhere); err == nil {
		t.Error("--schema created a store")
	}
}
