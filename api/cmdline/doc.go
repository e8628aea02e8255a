// Package cmdline is what the command lines of railnet's binaries share:
// --version, a usage that opens with the binary's one-line description and
// lists its subcommands. It links nothing of client-go (the CNI plugins use
// it); loading the API server's client configuration is package restconfig.
package cmdline
