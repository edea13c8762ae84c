package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/layerlab/layerlab/registry/index"
	"github.com/layerlab/layerlab/registry/server"
)

const sqlUsage = `registry sql [--root DIR] [--json | --csv] 'SELECT …'
registry sql [--root DIR] --export FILE
registry sql --schema

Builds the index — a model of the store: repositories, tags, manifests, the
blobs they reference, history, uploads — into an in-memory SQLite database
and runs the query on it, or writes it to FILE for sqlite3 or any SQLite
tool. The store stays the source of truth: the index is built afresh each
time. --schema prints the tables and views with their comments.`

func sqlCommand(args []string, stdout, stderr io.Writer) int {
	fs := flags("sql", sqlUsage, stderr)
	asJSON := fs.Bool("json", false, "print the rows as a JSON array of objects")
	asCSV := fs.Bool("csv", false, "print the rows as CSV with a header line")
	export := fs.String("export", "", "write the index as a SQLite database `FILE` (replaced when complete)")
	schema := fs.Bool("schema", false, "print the schema and exit")
	cfg, code, ok := loadConfig(fs, args, stderr, storageSettings)
	if !ok {
		return code
	}
	if *schema { // no store needed
		fmt.Fprint(stdout, index.Schema)
		return 0
	}
	query := strings.Join(fs.Args(), " ")
	switch {
	case *export == "" && strings.TrimSpace(query) == "":
		fmt.Fprintln(stderr, "sql: give a query, or --export FILE\n\n"+sqlUsage)
		return 2
	case *export != "" && query != "":
		fmt.Fprintln(stderr, "sql: --export takes no query")
		return 2
	case *asJSON && *asCSV:
		fmt.Fprintln(stderr, "sql: --json and --csv exclude each other")
		return 2
	}
	store, err := server.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	snap, err := index.Build(ctx, store)
	if err != nil {
		fmt.Fprintln(stderr, "sql: reading the store:", err)
		return 1
	}
	if *export != "" {
		if err := index.Export(snap, *export); err != nil {
			fmt.Fprintln(stderr, "sql: export:", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s: %d repositories, %d manifests, %d blobs — open it with: sqlite3 %s\n",
			*export, len(snap.Repositories), len(snap.Manifests), len(snap.Blobs), *export)
		return 0
	}
	db, err := index.OpenSQL(snap)
	if err != nil {
		fmt.Fprintln(stderr, "sql:", err)
		return 1
	}
	defer db.Close()
	cols, rows, err := index.Query(db, query)
	if err != nil {
		fmt.Fprintln(stderr, "sql:", err)
		return 1
	}
	switch {
	case *asJSON:
		out := make([]map[string]any, 0, len(rows))
		for _, r := range rows {
			obj := map[string]any{}
			for i, c := range cols {
				obj[c] = r[i]
			}
			out = append(out, obj)
		}
		return printJSON(stdout, out)
	case *asCSV:
		w := csv.NewWriter(stdout)
		w.Write(cols)
		for _, r := range rows {
			w.Write(texts(r, ""))
		}
		w.Flush()
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(texts(r, "NULL"), "\t"))
	}
	tw.Flush()
	fmt.Fprintf(stderr, "(%d rows)\n", len(rows))
	return 0
}

func texts(row []any, null string) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v == nil {
			out[i] = null
		} else {
			out[i] = strings.ReplaceAll(fmt.Sprint(v), "\t", " ")
		}
	}
	return out
}
