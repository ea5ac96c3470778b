package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The handler without a network (no root needed): a POST is answered with its body's length
// and SHA-256, GET serves the built-in page or the files of --dir, anything else is refused.
func TestHandler(t *testing.T) {
	do := func(h http.Handler, method, path, body string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	body := strings.Repeat("mtcp ", 100000)
	if code, got := do(handler(""), http.MethodPost, "/upload", body); code != 200 || got != fmt.Sprintf("%d %x\n", len(body), sha256.Sum256([]byte(body))) {
		t.Errorf("POST: %d %q", code, got)
	}
	if code, got := do(handler(""), http.MethodGet, "/", ""); code != 200 || got != page {
		t.Errorf("GET / built in: %d %q", code, got)
	}
	if code, _ := do(handler(""), http.MethodGet, "/other", ""); code != http.StatusNotFound {
		t.Errorf("GET /other built in: %d, want 404", code)
	}
	if code, _ := do(handler(""), http.MethodDelete, "/", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d, want 405", code)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("index"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, got := do(handler(dir), http.MethodGet, "/", ""); code != 200 || got != "index" {
		t.Errorf("GET / from --dir: %d %q", code, got)
	}
	if code, _ := do(handler(dir), http.MethodGet, "/../../etc/passwd", ""); code != http.StatusNotFound {
		t.Errorf("a path out of --dir: %d, want 404", code)
	}
}
