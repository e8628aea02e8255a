package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFirstDifference(t *testing.T) {
	for _, tc := range []struct {
		name, want, got string
		line            int
		w, g            string
		differ          bool
	}{
		{"same", "a\nb\n", "a\nb\n", 0, "", "", false},
		{"a line changed", "a\nb\nc\n", "a\nB\nc\n", 2, "b\n", "B\n", true},
		{"a line added", "a\n", "a\nb\n", 2, "", "b\n", true},
		{"the last newline lost", "a\nb\n", "a\nb", 2, "b\n", "b", true},
		{"empty golden", "", "a\n", 1, "", "a\n", true},
	} {
		line, w, g, differ := firstDifference([]byte(tc.want), []byte(tc.got))
		if line != tc.line || w != tc.w || g != tc.g || differ != tc.differ {
			t.Errorf("%s: %d %q %q %v, want %d %q %q %v", tc.name, line, w, g, differ, tc.line, tc.w, tc.g, tc.differ)
		}
	}
}

// recorder is a testing.TB that keeps the failures instead of failing.
type recorder struct {
	testing.TB
	errors, fatals int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Fatalf(string, ...any) { r.fatals++; panic(r) }
func (r *recorder) Fatal(...any)          { r.fatals++; panic(r) }

func check(tb *recorder, path string, got []byte) {
	defer func() {
		if v := recover(); v != nil && v != tb {
			panic(v)
		}
	}()
	Check(tb, path, got)
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	r := &recorder{TB: t}
	check(r, path, []byte("a\n"))
	if r.fatals != 1 {
		t.Fatalf("a missing golden file: %d fatal failures", r.fatals)
	}
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = &recorder{TB: t}
	check(r, path, []byte("a\n"))
	check(r, path, []byte("b\n"))
	if r.errors != 1 || r.fatals != 0 {
		t.Fatalf("same then different: %d errors, %d fatals; want 1, 0", r.errors, r.fatals)
	}
	*update = true
	defer func() { *update = false }()
	r = &recorder{TB: t}
	check(r, path, []byte("b\n"))
	if got, _ := os.ReadFile(path); string(got) != "b\n" || r.errors+r.fatals != 0 {
		t.Fatalf("-update: file %q, %d failures", got, r.errors+r.fatals)
	}
}
