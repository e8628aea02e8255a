package store

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/webhook/inject"
)

// ConfigKey is the ConfigMap key holding the service configuration, as
// Spiderpool's spiderpool-conf does.
const ConfigKey = "conf.yml"

// fileConfig is the part of conf.yml the webhook reads.
type fileConfig struct {
	PodResourceInject inject.Config `json:"podResourceInject"`
}

// ParseConfig reads the podResourceInject section of a ConfigMap's data. A
// ConfigMap without the key means injection is off.
func ParseConfig(data map[string]string) (inject.Config, error) {
	raw, ok := data[ConfigKey]
	if !ok {
		return inject.Config{}, nil
	}
	var fc fileConfig
	if err := yaml.Unmarshal([]byte(raw), &fc); err != nil {
		return inject.Config{}, fmt.Errorf("ConfigMap key %s: %w", ConfigKey, err)
	}
	return fc.PodResourceInject, nil
}
