package ground

import "context"

// TB is the part of testing.TB the test ground's helpers use. *testing.T and
// *testing.B satisfy it; so does the demo command's runner, which is how
// `make demo` reuses the very code the end-to-end tests run.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
	Context() context.Context
	TempDir() string
}
