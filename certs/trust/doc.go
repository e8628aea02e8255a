// Package trust holds the state of railnet's self-managed CA — the current
// signing CA, a next CA already trusted but not yet signing, and a previous CA
// still trusted after it stopped signing — and decides, for a given time, the
// next step of a rotation and the trust bundle to publish. It also maps the
// state to and from the data of the Secret that stores it. It is pure: time and
// key generation are injected.
package trust
