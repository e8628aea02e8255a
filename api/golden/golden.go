package golden

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the tests render")

// Check fails t unless got is the content of the golden file path; with
// -update it writes got to path first. A difference names the first line
// that differs.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if line, w, g, differ := firstDifference(want, got); differ {
		t.Errorf("%s differs at line %d (go test -update rewrites it; review the diff):\n want: %q\n  got: %q", path, line, w, g)
	}
}

// firstDifference returns the first line (from 1) where want and got
// differ and the two lines there; a missing line is "".
func firstDifference(want, got []byte) (line int, w, g string, differ bool) {
	if bytes.Equal(want, got) {
		return 0, "", "", false
	}
	wl, gl := bytes.SplitAfter(want, []byte("\n")), bytes.SplitAfter(got, []byte("\n"))
	for i := 0; ; i++ {
		var a, b []byte
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if !bytes.Equal(a, b) {
			return i + 1, string(a), string(b), true
		}
	}
}
