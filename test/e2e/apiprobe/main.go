// Package main is apiprobe, which runs inside a pod of the end-to-end tests: it lists the pods of its
// namespace through the `kubernetes` Service, found by cluster DNS, with its
// ServiceAccount token, and prints the HTTP status it got ("status=200").
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	token, err := os.ReadFile(saDir + "/token")
	fail(err)
	ns, err := os.ReadFile(saDir + "/namespace")
	fail(err)
	ca, err := os.ReadFile(saDir + "/ca.crt")
	fail(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	url := "https://kubernetes.default.svc/api/v1/namespaces/" + strings.TrimSpace(string(ns)) + "/pods"
	req, err := http.NewRequest(http.MethodGet, url, nil)
	fail(err)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	fail(err)
	resp.Body.Close()
	fmt.Printf("status=%d\n", resp.StatusCode)
}

func fail(err error) {
	if err != nil {
		fmt.Printf("error=%v\n", err)
		os.Exit(1)
	}
}
