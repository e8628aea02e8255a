package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of railnet's own kinds.
var GroupVersion = schema.GroupVersion{Group: "railnet.io", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the kinds of this group version.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the kinds of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&RDMANode{}, &RDMANodeList{},
		&IPAllocation{}, &IPAllocationList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
