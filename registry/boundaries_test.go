package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportBoundaries enforces the package rules of the design: the API
// never reaches for the server, the store and its drivers speak neither
// logging nor the API (nor HTTP, but for the S3 driver's client), and
// nothing imports the command. It reads what every
// package depends on, directly or not, from `go list -deps`.
func TestImportBoundaries(t *testing.T) {
	t.Parallel()
	const mod = "github.com/layerlab/layerlab/registry"
	rules := []struct {
		pkg       string // a package, or a prefix ending in "/..." for a tree of them
		except    []string
		forbidden []string
	}{
		{mod + "/api", nil, []string{mod + "/server"}},
		{mod + "/storage/...", nil, []string{mod + "/api", mod + "/accesslog", mod + "/server", mod + "/auth", mod + "/metrics", mod + "/index",
			"github.com/sirupsen/logrus"}},
		// The store and the drivers speak digests, paths and bytes, not
		// HTTP; only the S3 driver does, to its object store.
		{mod + "/storage/...", []string{mod + "/storage/driver/s3"}, []string{"net/http"}},
		{"...", nil, []string{mod}}, // the command
	}
	deps := packageDeps(t)
	if len(deps[mod+"/storage"]) == 0 || len(deps[mod+"/api"]) == 0 {
		t.Fatalf("go list did not list the registry's packages: %v", deps)
	}
	for _, r := range rules {
		for pkg, ds := range deps {
			if !matches(r.pkg, pkg) || slices.Contains(r.except, pkg) {
				continue
			}
			for _, f := range r.forbidden {
				if pkg != f && ds[f] {
					t.Errorf("%s imports %s (directly or through another package): the design forbids it", pkg, f)
				}
			}
		}
	}
}

// matches reports whether pkg is pattern or, for "x/...", in the tree x.
func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == tree || strings.HasPrefix(pkg, tree+"/")
	}
	return pkg == pattern
}

// packageDeps maps each package of the module to the set of packages it
// depends on (its test files excluded: tests may reach further).
func packageDeps(t *testing.T) map[string]map[string]bool {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the import check needs the go command: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "github.com/layerlab/layerlab/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]map[string]bool{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		set := map[string]bool{}
		for _, d := range fields[1:] {
			set[d] = true
		}
		deps[fields[0]] = set
	}
	return deps
}
