package realnode

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestInfinibandDevices(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"uverbs0", "uverbs7", "umad3", "issm2", "rdma_cm", "README"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := InfinibandDevices(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/dev/infiniband/uverbs0": "231:192", "/dev/infiniband/uverbs7": "231:199",
		"/dev/infiniband/umad3": "231:3", "/dev/infiniband/issm2": "231:66", "/dev/infiniband/rdma_cm": "10:58",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InfinibandDevices = %v, want %v", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "uverbsX"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := InfinibandDevices(dir); err == nil {
		t.Error("a device name without an index was accepted")
	}
}

// The layer holds parent folders before their files, files with their mode
// and links with their target.
func TestImageLayer(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(src, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	im := Image{Ref: "localhost/x:1", Files: []File{{Path: "/usr/bin/tool", Source: src}, {Path: "/bin/alias", Link: "../usr/bin/tool"}}}
	b, err := im.layer()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entry := h.Name
		switch h.Typeflag {
		case tar.TypeReg:
			entry += " file " + os.FileMode(h.Mode).String()
		case tar.TypeSymlink:
			entry += " -> " + h.Linkname
		}
		got = append(got, entry)
	}
	want := []string{"tmp/", "etc/", "proc/", "sys/", "dev/", "bin/", "bin/alias -> ../usr/bin/tool", "usr/", "usr/bin/", "usr/bin/tool file -rwxr-xr-x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("layer entries\n%q\nwant\n%q", got, want)
	}
}
