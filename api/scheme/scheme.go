// Package scheme builds the runtime.Scheme every railnet component uses: the
// built-in Kubernetes kinds, railnet's CRDs and Multus
// NetworkAttachmentDefinitions.
package scheme

import (
	nadv1 "github.com/k8snetworkplumbingwg/network-attachment-definition-client/pkg/apis/k8s.cni.cncf.io/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	railnetv1 "github.com/railnet/railnet/api/railnet/v1alpha1"
	spiderv2beta1 "github.com/railnet/railnet/api/spiderpool/v2beta1"
)

// New returns a scheme with every kind railnet reads or writes.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(spiderv2beta1.AddToScheme(s))
	utilruntime.Must(railnetv1.AddToScheme(s))
	utilruntime.Must(nadv1.AddToScheme(s))
	return s
}
