package proxmox

import "sort"

// InvalidParams names the parameters PVE refused in a 400 answer
// ("Parameter verification failed."), sorted; nil for other errors. The
// names let callers point at a form's field without reading PVE's text.
func (e *Error) InvalidParams() []string {
	if e.Status != 400 || len(e.Params) == 0 {
		return nil
	}
	names := make([]string, 0, len(e.Params))
	for k := range e.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
