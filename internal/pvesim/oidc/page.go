package oidc

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
)

// signinPage is the data of the provider's sign-in page.
type signinPage struct {
	// Fatal is an error that ends the request here (unknown client, bad
	// redirect URI): no form, no way back to the client.
	Fatal    string
	Request  url.Values // the authorization request, repeated by the form
	Users    []User     // listed as a hint: this is a simulator
	Username string
	Error    string
}

var pageTmpl = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Simulated identity provider</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f4f5;color:#18181b;display:flex;justify-content:center;padding:3rem 1rem;margin:0}
main{background:#fff;border:1px solid #e4e4e7;border-radius:.75rem;padding:2rem;max-width:24rem;width:100%}
h1{font-size:1.25rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#52525b}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #d4d4d8;border-radius:.375rem;font:inherit}
.row{display:flex;gap:.5rem;margin-top:1.25rem}button{flex:1;padding:.55rem;border-radius:.375rem;border:1px solid #18181b;font:inherit;cursor:pointer}
.primary{background:#18181b;color:#fff}.secondary{background:#fff;color:#18181b}
.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;padding:.5rem .75rem;border-radius:.375rem}
.hint{font-size:.875rem;margin-top:1.5rem}code{background:#f4f4f5;padding:0 .25rem;border-radius:.25rem}
</style>
</head>
<body>
<main>
<h1 id="idp-title">Simulated identity provider</h1>
{{if .Fatal}}
<p class="error" role="alert" id="idp-fatal">{{.Fatal}}</p>
{{else}}
<p>Sign in to continue to the application.</p>
{{if .Error}}<p class="error" role="alert" id="idp-error">{{.Error}}</p>{{end}}
<form method="post" action="authorize" id="idp-form">
{{range $k, $v := .Request}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<label for="idp-username">User name</label>
<input id="idp-username" name="username" autocomplete="username" value="{{.Username}}" autofocus>
<label for="idp-password">Password</label>
<input id="idp-password" name="password" type="password" autocomplete="current-password">
<div class="row">
<button type="submit" class="primary" name="signin" value="1" id="idp-signin">Sign in</button>
<button type="submit" class="secondary" name="cancel" value="1" id="idp-cancel" formnovalidate>Cancel</button>
</div>
</form>
{{if .Users}}<div class="hint">Demo accounts:<ul>{{range .Users}}<li><code>{{.Username}}</code> / <code>{{.Password}}</code></li>{{end}}</ul></div>{{end}}
{{end}}
</main>
</body>
</html>
`))

// page renders the sign-in page.
func (p *Provider) page(w http.ResponseWriter, status int, data signinPage) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		p.log.Error("oidc: render sign-in page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No form-action: the form's answer redirects to the client's site.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeJSON answers v as JSON, never cached (token answers must not be).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// oauthError is an OAuth 2.0 error answer (RFC 6749 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}
