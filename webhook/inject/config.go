package inject

import "github.com/railnet/railnet/api/injectgroup"

// Config is the podResourceInject section of the service's ConfigMap; its
// rules (and its parser) are the rulebook's, shared with the extender.
type Config = injectgroup.Config
