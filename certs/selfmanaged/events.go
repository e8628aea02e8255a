package selfmanaged

// toolscacheHandler calls f on every informer event.
type toolscacheHandler struct{ f func() }

func (h toolscacheHandler) OnAdd(any, bool)   { h.f() }
func (h toolscacheHandler) OnUpdate(any, any) { h.f() }
func (h toolscacheHandler) OnDelete(any)      { h.f() }
