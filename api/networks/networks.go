package networks

import (
	"encoding/json"
	"fmt"
	"strings"

	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	nadutils "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/utils"
)

// Annotation is the Multus pod annotation that lists a pod's extra networks.
const Annotation = nadv1.NetworkAttachmentAnnot

// Ref names one network attachment of a pod.
type Ref struct {
	Namespace string
	Name      string
	Interface string
}

// Parse reads the annotation value. Entries without a namespace get
// podNamespace. A malformed value is an error naming what was wrong.
func Parse(value, podNamespace string) ([]Ref, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	if strings.HasPrefix(value, "[") {
		var elems []nadv1.NetworkSelectionElement
		if err := json.Unmarshal([]byte(value), &elems); err != nil {
			return nil, fmt.Errorf("annotation %s is not a JSON list of networks: %w", Annotation, err)
		}
		refs := make([]Ref, 0, len(elems))
		for i, e := range elems {
			if e.Name == "" {
				return nil, fmt.Errorf("annotation %s: entry %d has no name", Annotation, i)
			}
			ns := e.Namespace
			if ns == "" {
				ns = podNamespace
			}
			refs = append(refs, Ref{Namespace: ns, Name: e.Name, Interface: e.InterfaceRequest})
		}
		return refs, nil
	}
	var refs []Ref
	for _, item := range strings.Split(value, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		// Multus' own parser reads each entry; JSON inside the shorthand
		// is not an entry.
		var elems []*nadv1.NetworkSelectionElement
		var err error
		if !strings.ContainsAny(item, `[{"`) {
			elems, err = nadutils.ParseNetworkAnnotation(item, podNamespace)
		}
		if err != nil || len(elems) != 1 || elems[0].Name == "" || elems[0].Namespace == "" {
			return nil, fmt.Errorf("annotation %s: entry %q must be [namespace/]name[@interface]", Annotation, item)
		}
		refs = append(refs, Ref{Namespace: elems[0].Namespace, Name: elems[0].Name, Interface: elems[0].InterfaceRequest})
	}
	return refs, nil
}

// Format writes refs as the JSON list the seed guide shows:
// [{"name":"gpu1-macvlan","namespace":"spiderpool"},...].
func Format(refs []Ref) string {
	type elem struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Interface string `json:"interface,omitempty"`
	}
	elems := make([]elem, len(refs))
	for i, r := range refs {
		elems[i] = elem{Name: r.Name, Namespace: r.Namespace, Interface: r.Interface}
	}
	b, _ := json.Marshal(elems) // cannot fail: plain strings
	return string(b)
}
