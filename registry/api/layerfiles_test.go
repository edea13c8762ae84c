package api

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func tarOf(t *testing.T, n int, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, name := range names {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
		tw.Write([]byte("abc"))
	}
	for i := range n {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("many/%d", i), Typeflag: tar.TypeReg, Mode: 0o600})
	}
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"})
	tw.Close()
	return buf.Bytes()
}

func TestListLayerReadsEachCompression(t *testing.T) {
	plain := tarOf(t, 0, "etc/os-release", "etc/.wh.passwd")
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	for _, tc := range []struct {
		name string
		blob []byte
	}{{"none", plain}, {"gzip", gz.Bytes()}, {"zstd", zs.Bytes()}} {
		l, err := ListLayer(context.Background(), bytes.NewReader(tc.blob))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if l.Compression != tc.name || l.Truncated != "" {
			t.Errorf("%s: compression %q truncated %q", tc.name, l.Compression, l.Truncated)
		}
		var got []string
		for _, f := range l.Files {
			got = append(got, fmt.Sprintf("%s %s %d %s %v %s", f.Type, f.Path, f.Size, f.Mode, f.Whiteout, f.Linkname))
		}
		want := "dir etc/ 0 0755 false |file etc/os-release 3 0644 false |file etc/.wh.passwd 3 0644 true |symlink bin/sh 0 0000 false busybox"
		if strings.Join(got, "|") != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, strings.Join(got, "|"), want)
		}
	}
}

func TestListLayerIsBounded(t *testing.T) {
	l, err := ListLayer(context.Background(), bytes.NewReader(tarOf(t, MaxLayerEntries+5)))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != MaxLayerEntries || !strings.Contains(l.Truncated, "entries") {
		t.Errorf("%d entries, truncated %q; want %d and a reason", len(l.Files), l.Truncated, MaxLayerEntries)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if l, err = ListLayer(ctx, bytes.NewReader(tarOf(t, 10))); err != nil || l.Truncated == "" || len(l.Files) != 0 {
		t.Errorf("past its deadline: %d files, truncated %q, %v", len(l.Files), l.Truncated, err)
	}
	if _, err := ListLayer(context.Background(), strings.NewReader(`{"not":"a tar"}`)); err == nil {
		t.Error("a JSON blob listed as a layer")
	}
	cut := tarOf(t, 100)
	if l, err = ListLayer(context.Background(), bytes.NewReader(cut[:len(cut)/2+100])); err != nil || !strings.Contains(l.Truncated, "ends early") {
		t.Errorf("a cut stream: truncated %q, %v", l.Truncated, err)
	}
}
