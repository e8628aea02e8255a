package ground

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/api/crds"
)

// CRDs returns railnet's CustomResourceDefinitions as generated into api/crds.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := fs.Glob(crds.FS, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(files))
	for _, f := range files {
		b, err := crds.FS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return nil, fmt.Errorf("decode CRD %s: %w", f, err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// nadModule ships the NetworkAttachmentDefinition CRD that Multus (and
// railnet's webhook, which renders NADs) needs; a cluster with Multus has it.
const nadModule = "github.com/k8snetworkplumbingwg/network-attachment-definition-client"

// NADCRD reads the NetworkAttachmentDefinition CRD from the NPWG client
// module that railnet's go.mod pins (artifacts/networks-crd.yaml).
func NADCRD(ctx context.Context) (*apiextensionsv1.CustomResourceDefinition, error) {
	// -json makes go download the module when the cache lacks it.
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", nadModule).Output()
	if err != nil {
		return nil, fmt.Errorf("locate %s (run from inside the railnet module): %w", nadModule, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return nil, fmt.Errorf("locate %s: %v %s", nadModule, err, info.Error)
	}
	dir := info.Dir
	b, err := os.ReadFile(filepath.Join(dir, "artifacts", "networks-crd.yaml"))
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		return nil, fmt.Errorf("decode the NetworkAttachmentDefinition CRD: %w", err)
	}
	return crd, nil
}

// installCRDs creates railnet's CRDs and the NetworkAttachmentDefinition
// CRD and waits until each is Established.
func (c *Cluster) installCRDs(ctx context.Context) error {
	list, err := CRDs()
	if err != nil {
		return err
	}
	nad, err := NADCRD(ctx)
	if err != nil {
		return err
	}
	list = append(list, nad)
	for _, crd := range list {
		if err := c.Client.Create(ctx, crd); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create CRD %s: %w", crd.Name, err)
		}
	}
	for _, crd := range list {
		err := c.poll(ctx, "CRD "+crd.Name, nil, 30*time.Second, func(ctx context.Context) error {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: crd.Name}, got); err != nil {
				return err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("CRD %s not established yet", crd.Name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
