package app_test

import (
	"crypto/tls"
	"net/http"
)

// insecureClient skips certificate checks; only TestPvesimCommand uses it,
// to reach a simulator whose fingerprint it has just read.
func insecureClient() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}
