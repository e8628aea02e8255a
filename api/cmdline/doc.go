// Package cmdline is what the command lines of railnet's binaries share:
// --version, a usage that opens with the binary's one-line description and
// lists its subcommands, and Main, which runs a
// binary's run(ctx) until SIGINT or SIGTERM and exits 1 with "name: err" on
// failure. It links nothing of client-go (the CNI plugins use
// it); loading the API server's client configuration is package restconfig.
package cmdline
