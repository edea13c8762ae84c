package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/internal/priority"
	"github.com/layerlab/layerlab/registry/server"
	"github.com/layerlab/layerlab/registry/storage"
)

// loadConfig parses the flags of a storage command, those named in
// settings; with ok false, the command exits with code (0 after --help).
func loadConfig(fs *flag.FlagSet, args []string, stderr io.Writer, settings []string) (cfg config.Config, code int, ok bool) {
	cfg, _, err := config.Load(fs, args, config.Getenv, settings...)
	if err == flag.ErrHelp {
		return cfg, 0, false
	}
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return cfg, 2, false
	}
	return cfg, 0, true
}

// openStore parses the flags of a background command (gc, du), lowers its
// priority below the registry's that may serve beside it, and opens the
// store. holdsNothing, asked once the flags are parsed, says that the
// command holds nothing another waits for (no GC lease): its I/O may then
// wait for the disk to be free.
func openStore(fs *flag.FlagSet, args []string, stderr io.Writer, holdsNothing func() bool) (*storage.Store, int) {
	cfg, code, ok := loadConfig(fs, args, stderr, backgroundSettings)
	if !ok {
		return nil, code
	}
	lower := priority.Lower
	if holdsNothing() {
		lower = priority.LowerHoldingNothing
	}
	if err := lower(priority.Level(cfg.Priority)); err != nil { // a sandbox may forbid it: run all the same
		fmt.Fprintf(stderr, "registry: runs at the priority it was started with: %v\n", err)
	}
	store, err := server.OpenStore(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return nil, 1
	}
	return store, -1
}

func gc(args []string, stdout, stderr io.Writer) int {
	fs := flags("gc", `registry gc [--root DIR] [--dry-run] [--delete-untagged] [--grace 15m] [--json]

Marks every blob a manifest of any repository reaches (image manifests,
indexes and their children, referrers) and deletes the others. Safe while the
registry serves: blobs touched less than --grace before the start are kept.
One collection at a time, across processes and machines sharing the store:
a collection holds the lease gc/lease-<n> in the store; when another holds
it, gc says so and exits with status 3, or waits for it with --wait.`, stderr)
	dry := fs.Bool("dry-run", false, "list what would be deleted and how many bytes, delete nothing")
	untagged := fs.Bool("delete-untagged", false, "also delete manifests that no tag reaches")
	grace := fs.Duration("grace", storage.DefaultGCGrace, "keep blobs and manifests touched this recently (pushes in flight)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	wait := fs.Duration("wait", 0, "wait this long for a collection running elsewhere to end (0: do not wait)")
	store, code := openStore(fs, args, stderr, func() bool { return *dry }) // a dry run takes no lease
	if store == nil {
		return code
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := store.GC(ctx, storage.GCOptions{DryRun: *dry, DeleteUntagged: *untagged, Grace: *grace, Wait: *wait})
	if errors.Is(err, storage.ErrGCRunning) {
		fmt.Fprintln(stderr, "gc:", err)
		return 3
	}
	if err != nil {
		fmt.Fprintln(stderr, "gc:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	verb := "deleted"
	if *dry {
		verb = "would delete"
	}
	for _, m := range res.DeletedManifests {
		fmt.Fprintf(stdout, "%s manifest %s@%s\n", verb, m.Repository, m.Digest)
	}
	for _, r := range res.RemovedRepos {
		fmt.Fprintf(stdout, "removed empty repository %s\n", r)
	}
	for _, b := range res.DeletedBlobs {
		fmt.Fprintf(stdout, "%s blob %s (%d bytes)\n", verb, b.Digest, b.Size)
	}
	fmt.Fprintf(stdout, "%d blobs reachable, %d kept as recent, %d blobs %s, %s freed, %d dangling links removed, %d temp files (%s) %s, in %s\n",
		res.MarkedBlobs, res.KeptRecent, len(res.DeletedBlobs), verb, accesslog.HumanSize(res.FreedBytes), res.RemovedLinks,
		res.RemovedTemp, accesslog.HumanSize(res.RemovedTempBytes), verb, time.Duration(res.DurationMS)*time.Millisecond)
	return 0
}

func du(args []string, stdout, stderr io.Writer) int {
	fs := flags("du", `registry du [--root DIR] [--json]

Per repository: the logical size (everything its manifests reference) and the
bytes only it holds; for the store: bytes on disk, blobs shared between
repositories and the bytes deduplication saves.`, stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	store, code := openStore(fs, args, stderr, func() bool { return true })
	if store == nil {
		return code
	}
	ctx, stop := signalContext()
	defer stop()
	u, err := store.DiskUsage(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "du:", err)
		return 1
	}
	if *asJSON {
		return printUsageJSON(stdout, u)
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "REPOSITORY\tMANIFESTS\tTAGS\tBLOBS\tLOGICAL\tEXCLUSIVE\t")
	for _, r := range u.Repositories {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t\n", r.Name, r.Manifests, r.Tags, r.Blobs, accesslog.HumanSize(r.LogicalBytes), accesslog.HumanSize(r.ExclusiveBytes))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nblobs on disk:        %d, %s\n", u.Blobs, accesslog.HumanSize(u.PhysicalBytes))
	fmt.Fprintf(stdout, "logical (all repos):  %s\n", accesslog.HumanSize(u.LogicalBytes))
	fmt.Fprintf(stdout, "shared blobs:         %d, %s\n", u.SharedBlobs, accesslog.HumanSize(u.SharedBytes))
	fmt.Fprintf(stdout, "saved by dedup:       %s\n", accesslog.HumanSize(u.DedupSavedBytes))
	fmt.Fprintf(stdout, "unreferenced (gc):    %s\n", accesslog.HumanSize(u.UnreferencedBytes))
	fmt.Fprintf(stdout, "temp files:           %d, %s\n", u.TempFiles, accesslog.HumanSize(u.TempBytes))
	return 0
}

// printUsageJSON prints the report as printJSON would, a repository at a
// time: its rows are never all encoded in memory at once.
func printUsageJSON(w io.Writer, u *storage.Usage) int {
	totals := *u
	totals.Repositories = []storage.RepoUsage{}
	b, err := json.MarshalIndent(totals, "", "  ")
	if err != nil {
		return 1
	}
	head, rest, _ := bytes.Cut(b, []byte(`"repositories": []`))
	bw := bufio.NewWriter(w)
	bw.Write(head)
	bw.WriteString(`"repositories": [`)
	for i, r := range u.Repositories {
		row, _ := json.MarshalIndent(r, "    ", "  ")
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(row)
	}
	if len(u.Repositories) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]")
	bw.Write(rest)
	bw.WriteString("\n")
	if bw.Flush() != nil {
		return 1
	}
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

// signalContext is cancelled by SIGINT or SIGTERM, so a long walk or
// collection stops when the operator asks.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
