// Package cmdline is what the command lines of railnet's binaries share:
// --version, a usage that opens with the binary's one-line description and
// lists its subcommands, and loading the API server's client configuration
// with an error that says how to give one.
package cmdline
