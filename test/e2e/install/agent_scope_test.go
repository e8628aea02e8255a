package install

import (
	"context"
	"fmt"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	"github.com/railnet/railnet/api/scheme"
	"github.com/railnet/railnet/test/ground"
)

// checkAgentTokens takes the token the kubelet's TokenRequest gives the
// agent pod of nodes[0] (bound to the pod, so it carries the pod's node) and
// shows that it may label its own Node but may not touch the other node's
// RDMANode: the chart's ValidatingAdmissionPolicy on a real cluster's tokens.
func checkAgentTokens(ctx context.Context, t *testing.T, c *ground.Cluster, own, other string) {
	var pods corev1.PodList
	must(t, c.Client.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels{"app.kubernetes.io/component": "node-agent"}))
	var pod *corev1.Pod
	for i := range pods.Items {
		if pods.Items[i].Spec.NodeName == own {
			pod = &pods.Items[i]
		}
	}
	if pod == nil {
		t.Fatalf("no node agent pod on %s", own)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: pod.Spec.ServiceAccountName}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](600),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	must(t, c.Client.SubResource("token").Create(ctx, sa, tr))
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}
	must(t, c.Client.Create(ctx, review))
	if got := review.Status.User.Extra["authentication.kubernetes.io/node-name"]; len(got) != 1 || got[0] != own {
		t.Fatalf("the agent pod's token carries node claim %v, want [%s] (user %+v)", got, own, review.Status.User)
	}

	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.BearerToken = tr.Status.Token
	agent, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	must(t, err)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"railnet.io/rails-ready":"8"}}}`))
	if err := agent.Patch(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: own}}, patch); err != nil {
		t.Errorf("the agent's token labelling its own node %s: %v", own, err)
	}
	rn := &railnetv1.RDMANode{}
	must(t, c.Client.Get(ctx, client.ObjectKey{Name: other}, rn))
	err = agent.Status().Update(ctx, rn)
	want := fmt.Sprintf("railnet node agent of node %s may not update RDMANode/status %s, which belongs to node %s", own, other, other)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("the agent of %s updating %s's RDMANode: %v\nwant refused with %q", own, other, err, want)
	}
}
