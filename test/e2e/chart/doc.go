// Package chart installs the Helm chart into the real API server of the
// test ground with the real helm command, checks that every object is
// accepted and that uninstall leaves nothing, and proves each component's
// RBAC with SubjectAccessReviews against the installed roles.
package chart
