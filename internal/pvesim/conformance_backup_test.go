package pvesim

// Conformance additions for backups, added at run time so that another
// branch's additions for the same methods (storage content, nextid) merge
// without duplicate keys in the literals of conformance_test.go.

func init() {
	allow := func(method, where, source string) {
		if undeclaredFields[method] == nil {
			undeclaredFields[method] = map[string]string{}
		}
		undeclaredFields[method][where] = source
	}
	allow("GET /nodes/{node}/storage/{storage}/content", "data[].content", "Plugin.pm list_volumes sets content on every item")
	allow("GET /nodes/{node}/storage/{storage}/content", "data[].subtype", "Plugin.pm list_volumes sets subtype (lxc, qemu) of a backup")
	if typeDeviations["GET /cluster/nextid"] == nil {
		typeDeviations["GET /cluster/nextid"] = map[string]string{}
	}
	typeDeviations["GET /cluster/nextid"]["data."] = "the next id was a hash key and JSON::XS encodes it as a string (pve-api.md §6.22)"
	sample := func(route string, paths ...string) {
		have := map[string]bool{}
		for _, p := range getSamples[route] {
			have[p] = true
		}
		for _, p := range paths {
			if !have[p] {
				getSamples[route] = append(getSamples[route], p)
			}
		}
	}
	sample("/nodes/{node}/storage/{storage}/content", "/nodes/pve1/storage/local/content?content=backup",
		"/nodes/pve1/storage/nfs/content?content=backup&vmid=101", "/nodes/pve3/storage/local/content")
	sample("/cluster/nextid", "/cluster/nextid", "/cluster/nextid?vmid=4242")
}
