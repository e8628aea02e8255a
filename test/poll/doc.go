// Package poll is the one way tests wait for something: call a condition
// until it holds. Its bound only ends a stuck test (a hang guard); it is never
// a timed assertion, so tests pass it generously. Until serves tests, Wait the
// test ground's helpers that return errors.
package poll
