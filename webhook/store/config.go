package store

import (
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/webhook/inject"
)

// ConfigKey is the ConfigMap key holding the service configuration (the
// chart's); LegacyConfigKey is Spiderpool's spelling, read when ConfigKey
// is absent.
const (
	ConfigKey       = "conf.yaml"
	LegacyConfigKey = "conf.yml"
)

// fileConfig is the part of conf.yml the webhook reads.
type fileConfig struct {
	PodResourceInject inject.Config `json:"podResourceInject"`
}

// ParseConfig reads the podResourceInject section of a ConfigMap's data. A
// ConfigMap without the key means injection is off.
func ParseConfig(data map[string]string) (inject.Config, error) {
	key := ConfigKey
	raw, ok := data[key]
	if !ok {
		key = LegacyConfigKey
		if raw, ok = data[key]; !ok {
			return inject.Config{}, nil
		}
	}
	var fc fileConfig
	if err := yaml.Unmarshal([]byte(raw), &fc); err != nil {
		return inject.Config{}, fmt.Errorf("ConfigMap key %s: %w", key, err)
	}
	return fc.PodResourceInject, nil
}
