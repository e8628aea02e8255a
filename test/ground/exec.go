package ground

import (
	"bytes"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/railnet/railnet/test/poll"
)

// Exec runs cmd in a container of a running pod through the API server and
// the pod's kubelet, as `kubectl exec` does (WebSocket, falling back to
// SPDY), and returns its standard output; a failing command's error carries
// its standard error.
func (c *Cluster) Exec(ctx context.Context, namespace, pod, container string, cmd ...string) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", req.URL().String())
	if err != nil {
		return "", err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, "POST", req.URL())
	if err != nil {
		return "", err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, httpstream.IsUpgradeFailure)
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		return stdout.String(), fmt.Errorf("exec %v in %s/%s: %w (stderr: %s)", cmd, namespace, pod, err, stderr.String())
	}
	return stdout.String(), nil
}

// PodLogs returns a container's log through the API server and the kubelet.
func (c *Cluster) PodLogs(ctx context.Context, namespace, pod, container string) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", err
	}
	b, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	return string(b), nil
}

// ExecWhenReady is Exec retried for up to timeout while the pod's kubelet
// cannot answer yet: a kubelet that has just restarted refuses exec ("pod
// does not exist") until it has synced its pods again.
func (c *Cluster) ExecWhenReady(ctx context.Context, timeout time.Duration, namespace, pod, container string, cmd ...string) (string, error) {
	var out string
	var err error
	_ = poll.Wait(ctx, timeout, "exec in pod "+namespace+"/"+pod, func() error {
		out, err = c.Exec(ctx, namespace, pod, container, cmd...)
		return err
	})
	return out, err
}
