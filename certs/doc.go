// Package certs is the home of railnet's serving certificates. It holds no
// code; its sub-packages each do one job:
//
//   - pki: issue a CA and serving certificates (Service DNS names plus extra
//     SANs), PEM, and the renewal math (re-issue at a fraction of the life or a
//     threshold before expiry). Pure: time is an argument.
//   - trust: the CA set during a rotation (current, next, previous), the step
//     due at a given time, the trust bundle, and the Secret encoding. Pure.
//   - selfmanaged: the default mode. Authority keeps the CA in a Secret
//     (create; on AlreadyExists adopt the winner's; updates at the read
//     resourceVersion), Source serves a certificate from it per TLS handshake
//     (GetCertificate / Start / Healthy), Injector keeps the caBundle of the
//     selected Mutating/ValidatingWebhookConfigurations equal to the bundle.
//     Manager wires the three over one controller-runtime cache that watches
//     only the CA Secret and the objects it injects into.
//   - filesource: the cert-manager mode; serves a mounted tls.crt/tls.key and
//     reloads them when they change (fsnotify on their folders, plus polling).
//   - serving: what a service wires: serving.New(restConfig, serving.Config{...})
//     picks the mode from its flag values (certificate files given: cert-manager;
//     otherwise self-managed) and returns one source for tls.Config
//     (GetCertificate), its run loop (Start), /healthz (Healthy, HealthError)
//     and the trust bundle (Bundle). The self-managed injector can also keep a
//     ConfigMap key ca.crt equal to the bundle (for kube-scheduler's
//     extender tlsConfig.caFile) and roll Deployments onto it.
//
// Why kube-scheduler's extender CA is rolled the way it is, and why
// cert-manager's pkg/server/tls is not used: DESIGN.md beside this file.
package certs
