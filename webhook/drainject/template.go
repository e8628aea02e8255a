package drainject

import (
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/railnet/railnet/api/railsdra"
)

// PairedClaimTemplate is the pairwise claim template for k GPUs of
// gpuClass and their k affine rails of railClass: requests gpu-<i> and
// rail-<i> (one device each) for i < k, each pair constrained to one PCIe
// root, the rails distinct. It fits any topology where each GPU has an
// affine NIC. k must be at least 1.
func PairedClaimTemplate(namespace, name, gpuClass, railClass string, k int) (*resourceapi.ResourceClaimTemplate, error) {
	if k < 1 {
		return nil, fmt.Errorf("ResourceClaimTemplate %s/%s: %d GPUs; a paired claim needs at least 1 GPU", namespace, name, k)
	}
	spec := resourceapi.DeviceClaim{}
	var rails []string
	for i := range k {
		gpu, rail := fmt.Sprintf("gpu-%d", i), fmt.Sprintf("rail-%d", i)
		spec.Requests = append(spec.Requests,
			resourceapi.DeviceRequest{Name: gpu, Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: gpuClass}},
			resourceapi.DeviceRequest{Name: rail, Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: railClass}})
		spec.Constraints = append(spec.Constraints, resourceapi.DeviceConstraint{
			Requests: []string{gpu, rail}, MatchAttribute: ptr.To(resourceapi.FullyQualifiedName(railsdra.PCIeRootAttribute))})
		rails = append(rails, rail)
	}
	if k > 1 {
		spec.Constraints = append(spec.Constraints, resourceapi.DeviceConstraint{
			Requests: rails, DistinctAttribute: ptr.To(resourceapi.FullyQualifiedName(railsdra.DriverName + "/" + railsdra.AttrRail))})
	}
	return &resourceapi.ResourceClaimTemplate{
		TypeMeta:   metav1.TypeMeta{APIVersion: resourceapi.SchemeGroupVersion.String(), Kind: "ResourceClaimTemplate"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       resourceapi.ResourceClaimTemplateSpec{Spec: resourceapi.ResourceClaimSpec{Devices: spec}},
	}, nil
}
