package web

import "net/http"

// routes lists every route and the middleware chain, on one screen.
//
// Outermost first: request id and access log, panic recovery, security
// headers (CSP nonce), cross-origin protection for every unsafe method.
// Pages that need a signed-in person are wrapped in requireSession.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Operations: no session, nothing about the configuration. (/metrics
	// has a listener of its own: METRICS_ADDR. /healthz is answered before
	// the middleware: probes.)
	mux.HandleFunc("GET /readyz", s.readyz)

	// Public.
	mux.Handle("GET /static/", s.static())
	mux.Handle("GET /login", s.handle(s.loginPage))
	mux.Handle("POST /login", s.handle(s.login))
	mux.Handle("POST /login/tfa", s.handle(s.loginTFA))
	mux.Handle("GET /login/openid", s.handle(s.openidCallback))
	mux.Handle("POST /logout", s.handle(s.logout))

	// Signed in.
	mux.Handle("GET /{$}", s.requireSession(s.handle(s.containers)))
	mux.Handle("GET /events", s.requireSession(s.handle(s.events)))
	mux.Handle("POST /containers/{node}/{vmid}/{action}", s.requireSession(s.handle(s.act)))
	mux.Handle("GET /containers/{node}/{vmid}", s.requireSession(s.handle(s.container)))
	mux.Handle("GET /containers/{node}/{vmid}/events", s.requireSession(s.handle(s.containerEvents)))
	mux.Handle("GET /containers/{node}/{vmid}/rrddata", s.requireSession(s.handle(s.rrddata)))
	mux.Handle("POST /containers/{node}/{vmid}/config", s.requireSession(s.handle(s.configure)))
	mux.Handle("POST /containers/{node}/{vmid}/resize", s.requireSession(s.handle(s.resize)))
	mux.Handle("POST /containers/{node}/{vmid}/snapshots", s.requireSession(s.handle(s.takeSnapshot)))
	mux.Handle("POST /containers/{node}/{vmid}/snapshots/{name}/rollback", s.requireSession(s.handle(s.snapshotOp("rollback"))))
	mux.Handle("POST /containers/{node}/{vmid}/snapshots/{name}/delete", s.requireSession(s.handle(s.snapshotOp("delete"))))
	mux.Handle("POST /containers/{node}/{vmid}/snapshots/{name}/description", s.requireSession(s.handle(s.describeSnapshot)))
	mux.Handle("POST /containers/{node}/{vmid}/backups", s.requireSession(s.handle(s.backupNow)))
	mux.Handle("POST /containers/{node}/{vmid}/backups/restore", s.requireSession(s.handle(s.backupOp("restore"))))
	mux.Handle("POST /containers/{node}/{vmid}/backups/delete", s.requireSession(s.handle(s.backupOp("delete"))))
	mux.Handle("POST /containers/{node}/{vmid}/backups/attributes", s.requireSession(s.handle(s.backupAttributes)))
	mux.Handle("GET /containers/{node}/{vmid}/console", s.requireSession(s.handle(s.consolePage)))
	mux.Handle("GET /containers/{node}/{vmid}/console/ws", s.requireSession(http.HandlerFunc(s.consoleSocket)))
	mux.Handle("GET /tasks/{node}/{upid}", s.requireSession(s.handle(s.task)))
	mux.Handle("GET /tasks/{node}/{upid}/log", s.requireSession(s.handle(s.taskLog)))
	mux.Handle("POST /containers/bulk", s.requireSession(s.handle(s.bulkAction)))
	mux.Handle("GET /bulk/{id}", s.requireSession(s.handle(s.bulkStatus)))
	mux.Handle("GET /containers/new", s.requireSession(s.handle(s.createPage)))
	mux.Handle("POST /containers", s.requireSession(s.handle(s.createContainer)))
	mux.Handle("POST /containers/new/download", s.requireSession(s.handle(s.downloadTemplate)))
	mux.Handle("GET /containers/{node}/{vmid}/clone", s.requireSession(s.handle(s.clonePage)))
	mux.Handle("POST /containers/{node}/{vmid}/clone", s.requireSession(s.handle(s.cloneContainer)))
	mux.Handle("GET /containers/{node}/{vmid}/template", s.requireSession(s.handle(s.templatePage)))
	mux.Handle("POST /containers/{node}/{vmid}/template", s.requireSession(s.handle(s.convertTemplate)))
	mux.Handle("GET /containers/{node}/{vmid}/delete", s.requireSession(s.handle(s.deletePage)))
	mux.Handle("POST /containers/{node}/{vmid}/delete", s.requireSession(s.handle(s.deleteContainer)))
	mux.Handle("GET /sessions", s.requireSession(s.handle(s.sessions)))
	mux.Handle("POST /sessions/{handle}/logout", s.requireSession(s.handle(s.logoutSession)))
	mux.Handle("POST /sessions/logout-all", s.requireSession(s.handle(s.logoutEverywhere)))

	// Everything else: 404 for signed-in people, the login page for others.
	mux.Handle("/", s.requireSession(http.HandlerFunc(s.notFound)))

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))

	var h = routed(mux)
	h = csrf.Handler(h)
	h = s.securityHeaders(h)
	h = s.recoverPanics(h)
	h = s.requestLog(h)
	return s.probes(h)
}
