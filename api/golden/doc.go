// Package golden is for tests: it compares what a test rendered with a
// golden file in the package's testdata/, and rewrites the file when the
// test runs with -update (go test ./pkg -update, then review the diff).
package golden
