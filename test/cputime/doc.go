// Package cputime reads the CPU time the test process has used, for
// benchmarks that report cost per operation in CPU time: on a shared,
// loaded machine it holds where the wall clock swings.
package cputime
