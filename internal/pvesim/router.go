package pvesim

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// The method table, shaped like PVE's RESTHandler tree: each path level
// has either fixed children ("folders") or one variable child ("{node}"),
// and each path holds methods by HTTP verb. Unknown paths and verbs are
// "501 Method '<VERB> <path>' not implemented".

// route is one API method (one entry of apidata.js).
type route struct {
	name   string // PVE method name, e.g. "create_ticket"
	method string // HTTP verb
	path   string // "/nodes/{node}/lxc"
	// params is the parameter schema (path variables included, as in PVE).
	params schema
	// check is the method's declarative permission check (PVE's
	// check => ['perm', path, [privs]]): the path may name parameters as
	// "{vmid}", substituted with the raw values before validation, as PVE
	// does. Empty checkPath: none beyond the login that auth_handler already
	// required (user => 'all', the handler may filter or check itself), or
	// none at all for calls exempt from authentication (user => 'world').
	checkPath  string
	checkPrivs []string
	// checkAny: one of checkPrivs is enough (PVE's "any => 1").
	checkAny bool
	// checkExpr is a composite check as the schema spells it, e.g.
	// ["and", ["perm", ...], ["or", ...]] (check.go); it replaces
	// checkPath and checkPrivs.
	checkExpr []any
	// proxyTo names the parameter holding the node the call is forwarded
	// to (PVE's proxyto => 'node'); "" for calls answered by any node.
	proxyTo string
	// greedy: the last path variable takes the rest of the path, '/'
	// included (PVE's fragmentDelimiter => '', as for volume ids).
	greedy bool
	// allowToken: the method may be called with an API token (PVE default 1).
	allowToken bool
	// protected methods run in pvedaemon in PVE; informational here.
	protected bool
	fn        func(c *call) (any, error)

	calls atomic.Int64 // requests that resolved to this method
}

// key is "METHOD /schema/path".
func (rt *route) key() string { return rt.method + " " + rt.path }

// checkPerm runs the declarative permission check for c.
func (rt *route) checkPerm(c *call) error {
	if rt.checkExpr != nil {
		return c.s.evalCheck(c, rt.checkExpr)
	}
	if rt.checkPath == "" {
		return nil
	}
	path := rt.checkPath
	for strings.Contains(path, "{") {
		i := strings.IndexByte(path, '{')
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			break
		}
		name := path[i+1 : i+j]
		v, _ := c.params.str(name)
		path = path[:i] + v + path[i+j+1:]
	}
	if rt.checkAny {
		return c.s.acl.CheckAny(c.user, path, rt.checkPrivs...)
	}
	return c.s.acl.Check(c.user, path, rt.checkPrivs...)
}

type routeNode struct {
	folders  map[string]*routeNode
	varName  string
	varChild *routeNode
	methods  map[string]*route
	greedy   bool // a variable that takes the rest of the path
}

type router struct {
	root  *routeNode
	byKey map[string]*route // "METHOD /path" -> method
	all   []*route          // in registration order
}

func newRouter() *router {
	return &router{root: &routeNode{}, byKey: map[string]*route{}}
}

// add registers rt; it panics on conflicting definitions (a programming error).
func (rr *router) add(rt *route) {
	n := rr.root
	segs := splitPath(rt.path)
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if n.folders != nil || (n.varChild != nil && n.varName != name) {
				panic(fmt.Sprintf("pvesim: route %s conflicts at %q", rt.path, seg))
			}
			if n.varChild == nil {
				n.varName, n.varChild = name, &routeNode{}
			}
			n = n.varChild
			if rt.greedy && i == len(segs)-1 {
				n.greedy = true
			}
			continue
		}
		if n.varChild != nil {
			panic(fmt.Sprintf("pvesim: route %s conflicts at %q", rt.path, seg))
		}
		if n.folders == nil {
			n.folders = map[string]*routeNode{}
		}
		child := n.folders[seg]
		if child == nil {
			child = &routeNode{}
			n.folders[seg] = child
		}
		n = child
	}
	if n.methods == nil {
		n.methods = map[string]*route{}
	}
	if _, dup := n.methods[rt.method]; dup {
		panic(fmt.Sprintf("pvesim: duplicate route %s %s", rt.method, rt.path))
	}
	if rt.params == nil {
		rt.params = schema{}
	}
	n.methods[rt.method] = rt
	rr.byKey[rt.key()] = rt
	rr.all = append(rr.all, rt)
}

// find is RESTHandler::find_handler: it returns the method and the path
// variables, or nil.
func (rr *router) find(method, relURI string) (*route, map[string]string) {
	vars := map[string]string{}
	n := rr.root
	segs := splitPath(relURI)
	for i := 0; i < len(segs); i++ {
		seg := segs[i]
		switch {
		case n.varChild != nil && n.varChild.greedy:
			vars[n.varName] = strings.Join(segs[i:], "/")
			n, i = n.varChild, len(segs)
		case n.varChild != nil:
			vars[n.varName] = seg
			n = n.varChild
		case n.folders != nil:
			n = n.folders[seg]
		default:
			return nil, nil
		}
		if n == nil {
			return nil, nil
		}
	}
	rt := n.methods[method]
	if rt == nil {
		return nil, nil
	}
	return rt, vars
}

// splitPath splits on '/' and skips empty fragments.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// buildRoutes registers every simulated method.
func (s *Sim) buildRoutes() *router {
	rr := newRouter()
	s.accessRoutes(rr)
	s.openidRoutes(rr)
	s.nodeRoutes(rr)
	s.clusterRoutes(rr)
	s.lxcRoutes(rr)
	s.configRoutes(rr)
	s.resizeRoutes(rr)
	s.statsRoutes(rr)
	s.powerRoutes(rr)
	s.taskListRoutes(rr)
	s.taskRoutes(rr)
	s.snapshotRoutes(rr)
	s.backupRoutes(rr)
	s.consoleRoutes(rr)
	s.storageRoutes(rr)
	s.aplinfoRoutes(rr)
	s.networkRoutes(rr)
	s.poolRoutes(rr)
	s.createRoutes(rr)
	return rr
}
