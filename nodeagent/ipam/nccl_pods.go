package ipam

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/railnet/railnet/nodeagent/nccl"
)

// podWarner tells a pod that its NCCL cannot be pointed at its own GIDs:
// nccl.AnnotationWarning on the pod (a merge patch that names the pod's UID,
// so a new pod of the same name is never annotated) and a Warning event.
type podWarner struct {
	client   client.Writer
	recorder record.EventRecorder
}

func (w podWarner) Warn(ctx context.Context, ref nccl.PodRef, warning string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid": ref.UID, "annotations": map[string]string{nccl.AnnotationWarning: warning}}})
	if err != nil {
		return err
	}
	pod := &corev1.Pod{}
	pod.Namespace, pod.Name, pod.UID = ref.Namespace, ref.Name, types.UID(ref.UID)
	if err := w.client.Patch(ctx, pod, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("annotate pod %s/%s with %s: %w", ref.Namespace, ref.Name, nccl.AnnotationWarning, err)
	}
	w.recorder.Event(pod, corev1.EventTypeWarning, nccl.ReasonGIDIndex, warning)
	return nil
}

// livePods returns the UIDs of the node's pods that have not finished.
func livePods(r client.Reader, node string) func(ctx context.Context) (map[string]bool, error) {
	return func(ctx context.Context) (map[string]bool, error) {
		var list corev1.PodList
		if err := r.List(ctx, &list, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.nodeName", node)}); err != nil {
			return nil, fmt.Errorf("list the pods of node %s: %w", node, err)
		}
		live := make(map[string]bool, len(list.Items))
		for _, p := range list.Items {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				live[string(p.UID)] = true
			}
		}
		return live, nil
	}
}
