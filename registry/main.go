// Command registry is layerlab's container registry: an OCI Distribution
// registry on a content-addressable filesystem store.
//
//	registry [serve] [flags]   serve the registry (the default)
//	registry gc                garbage collection, safe while serving
//	registry du                storage report
//	registry sql               the registry's metadata as SQL (SQLite)
//	registry healthcheck       exit 0 when the local registry is ready
//	registry version           print the version
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/layerlab/layerlab/registry/accesslog"
	"github.com/layerlab/layerlab/registry/auth"
	"github.com/layerlab/layerlab/registry/config"
	"github.com/layerlab/layerlab/registry/server"
)

var version = "dev"

const usage = `registry — layerlab's OCI container registry

Usage:
  registry [serve] [flags]     serve the OCI Distribution API (default command)
  registry gc [flags]          delete blobs no manifest references (safe while serving)
  registry du [--json]         storage report: per repository, shared blobs, dedup savings
  registry sql 'SELECT …'      query the registry's metadata in SQL; --export FILE for sqlite3
  registry healthcheck         exit 0 if the registry on REGISTRY_ADDR is ready, else 1
  registry htpasswd USER       print an htpasswd line for USER (password read from stdin)
  registry version             print the version

Every flag can also be set with the REGISTRY_* environment variable named in
its help; flags win over the environment. Run "registry serve --help" for them.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "healthcheck":
		return healthcheck(args, stderr)
	case "gc":
		return gc(args, stdout, stderr)
	case "du":
		return du(args, stdout, stderr)
	case "sql":
		return sqlCommand(args, stdout, stderr)
	case "htpasswd":
		return htpasswd(args, os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "registry", version)
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return 2
}

// flags returns a flag set whose help starts with the command's usage.
func flags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags:\n", summary)
		fs.PrintDefaults()
	}
	return fs
}

func serve(args []string, stderr io.Writer) int {
	fs := flags("serve", "registry [serve] [flags]: serve the OCI Distribution API", stderr)
	cfg, _, err := config.Load(fs, args, config.Getenv)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return 2
	}
	log, err := accesslog.New(stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(stderr, "registry:", err)
		return 2
	}
	defer accesslog.Flush(log)
	srv, err := server.New(cfg, log)
	if err != nil {
		log.WithError(err).Error("cannot start")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.WithError(err).Error("server failed")
		return 1
	}
	return 0
}

// The settings each command takes besides its own flags (serve takes them all).
var (
	healthcheckSettings = []string{"addr", "tls-cert", "tls-key"}              // the key only pairs with the certificate
	storageSettings     = append([]string{"root"}, config.StorageFlags...)     // gc, du, sql
	backgroundSettings  = slices.Concat(storageSettings, []string{"priority"}) // gc, du
)

// healthcheck asks the local registry's /readyz; for a container
// HEALTHCHECK in an image that has no curl.
func healthcheck(args []string, stderr io.Writer) int {
	fs := flags("healthcheck", "registry healthcheck [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE]: exit 0 when the registry is ready", stderr)
	cfg, _, err := config.Load(fs, args, config.Getenv, healthcheckSettings...)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	host := cfg.Addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	scheme := "http"
	client := &http.Client{Timeout: 5 * time.Second}
	if cfg.TLSCert != "" {
		// Asking itself over loopback: the certificate names the public host.
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	resp, err := client.Get(scheme + "://" + host + "/readyz")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: status", resp.Status)
		return 1
	}
	return 0
}

// htpasswd prints "user:bcrypt-hash" for the password on the first line of
// stdin: an image from scratch has no htpasswd command.
func htpasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: echo PASSWORD | registry htpasswd USER >> htpasswd")
		return 2
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintln(stderr, "htpasswd:", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		fmt.Fprintln(stderr, "htpasswd: empty password")
		return 2
	}
	entry, err := auth.HashPassword(args[0], password)
	if err != nil {
		fmt.Fprintln(stderr, "htpasswd:", err)
		return 2
	}
	fmt.Fprintln(stdout, entry)
	return 0
}
