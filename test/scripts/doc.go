// Package scripts holds the project's shell scripts (verify.sh,
// check-leftovers.sh, install-node-packages.sh); its Go tests run them
// against folders of their own.
package scripts
