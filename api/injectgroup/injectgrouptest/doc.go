// Package injectgrouptest holds the table of inject-group cases that drives
// the rulebook's own test (package injectgroup) and the test proving that
// the webhook and the extender agree on every case (test/rulebook).
package injectgrouptest
