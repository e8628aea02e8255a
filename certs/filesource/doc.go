// Package filesource serves a certificate and key mounted from files (the
// cert-manager mode: cert-manager writes the Secret, the kubelet mounts it) and
// reloads them when they change, watching their folders and polling as a
// fallback. A torn or broken write keeps the last good pair.
//
// Why not controller-runtime's certwatcher (v0.25), which also watches and
// polls a pair: it lacks what the extender and the webhook use here.
//   - The CA bundle: CAFile is read with the pair, under one lock, and
//     Subscribe reports its changes (the extender verifies scheduler clients
//     with it; the scheduler Deployment is rolled onto it). certwatcher
//     follows a certificate and a key only; a second watcher for ca.crt
//     would read the bundle apart from the pair.
//   - Starting before the files exist: certwatcher.New fails when it cannot
//     read the pair; a Source starts, HealthError names the files on /healthz,
//     and it serves once they appear.
//   - Refusals that say where and what to do: a torn write is refused naming
//     both files and "keeping the previous pair", and retried after 1 s;
//     certwatcher logs tls.X509KeyPair's error and waits for the next event or
//     its 10 s poll.
//   - Health from the served leaf's validity on an injected clock
//     (Healthy, HealthError, the expiry metric of package serving);
//     certwatcher has no clock and no health.
//
// Wrapping certwatcher would keep all of the above here and add a second
// watch loop, so the package keeps its own (about 120 lines of logic).
package filesource
