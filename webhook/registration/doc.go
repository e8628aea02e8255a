// Package registration builds the webhook's MutatingWebhookConfiguration and
// ValidatingWebhookConfiguration, so the Helm chart and the tests register
// exactly the same thing. Pods reach the webhook only when CEL
// matchConditions see an inject annotation on the pod, or when their
// namespace carries NamespaceLabel (the controller mirrors a namespace's
// inject annotation into it); every other pod is admitted without calling
// the webhook, so an outage never blocks it. Pods of kube-system and of
// railnet's own namespace never reach it at all (a static namespaceSelector),
// so a broken railnet cannot block its own recovery.
package registration
