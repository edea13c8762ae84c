package lines

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestEachSkipsBlanksAndComments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("# users\n\n  alice:x  \n\t# more\nbob:y\n"), 0o600)
	var got []string
	var nums []int
	if err := Each(path, func(n int, line string) error {
		got, nums = append(got, line), append(nums, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"alice:x", "bob:y"}) || !reflect.DeepEqual(nums, []int{3, 5}) {
		t.Fatalf("entries %q at lines %v", got, nums)
	}
	stop := errors.New("stop")
	calls := 0
	if err := Each(path, func(int, string) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("an error from fn: got %v after %d calls", err, calls)
	}
	if err := Each(filepath.Join(t.TempDir(), "missing"), func(int, string) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}
