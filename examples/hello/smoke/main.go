// Package main is hello's regression tests, shipped as hello's tests image and run by
// Ferry as a Job after each deployment: it asks the hello Service of its own namespace
// (or the address in FERRY_URL, which Ferry sets to a blue-green preview before the
// switch) for /info a few times and fails unless every answer is a 200 naming the version
// under test (FERRY_VERSION, which Ferry sets). An address that does not answer at all
// gets 15 s to start (a new Service's route).
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	url := os.Getenv("HELLO_URL")
	if base := os.Getenv("FERRY_URL"); url == "" && base != "" {
		url = base + "/info"
	}
	if url == "" {
		url = "http://hello/info"
	}
	want := os.Getenv("FERRY_VERSION")
	client := &http.Client{Timeout: 5 * time.Second}
	// A Service made a moment ago may not be routed on every node yet: the address
	// gets a short while to answer at all before the checks count.
	if err := reachable(client, url, 15*time.Second); err != nil {
		fmt.Printf("FAIL 1/5: %v\n", err)
		os.Exit(1)
	}
	const tries = 5
	for i := range tries {
		if err := check(client, url, want); err != nil {
			fmt.Printf("FAIL %d/%d: %v\n", i+1, tries, err)
			os.Exit(1)
		}
		fmt.Printf("ok %d/%d: %s answers %s\n", i+1, tries, url, want)
	}
}

// reachable waits until a GET of url gets any answer, for at most limit.
func reachable(client *http.Client, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(url) //nolint:gosec // the URL is the test's own configuration
		if err == nil {
			return resp.Body.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func check(client *http.Client, url, want string) error {
	resp, err := client.Get(url) //nolint:gosec // the URL is the test's own configuration
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var info struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if want != "" && info.Version != want {
		return fmt.Errorf("GET %s: version %s, want %s", url, info.Version, want)
	}
	return nil
}
