package discovery

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// sysfs reads files below a root that stands for "/".
type sysfs struct{ root string }

func (s sysfs) path(p string) string { return filepath.Join(s.root, p) }

// read returns the trimmed content of a sysfs attribute.
func (s sysfs) read(p string) (string, error) {
	b, err := os.ReadFile(s.path(p))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readOr returns the attribute or def when it cannot be read.
func (s sysfs) readOr(p, def string) string {
	v, err := s.read(p)
	if err != nil {
		return def
	}
	return v
}

// names lists a directory's entries, sorted; a missing directory is empty.
func (s sysfs) names(p string) ([]string, error) {
	entries, err := os.ReadDir(s.path(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// resolve follows the symlinks of p and returns the result relative to the
// root, starting with "/" (e.g. /sys/devices/pci0000:00/...).
func (s sysfs) resolve(p string) (string, error) {
	real, err := filepath.EvalSymlinks(s.path(p))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	rootReal, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return "", fmt.Errorf("resolve sysfs root %s: %w", s.root, err)
	}
	rel, err := filepath.Rel(rootReal, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s resolves outside the sysfs root %s", p, s.root)
	}
	return "/" + rel, nil
}

// readInt parses a decimal attribute; def when absent or malformed.
func (s sysfs) readInt(p string, def int64) int64 {
	v, err := s.read(p)
	if err != nil {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// hexID turns "0x15b3" into "15b3".
func hexID(v string) string {
	return strings.TrimPrefix(strings.ToLower(v), "0x")
}
