package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func errorOf(t *testing.T, body string) (code, message string) {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("not the JSON error shape: %v\n%s", err, body)
	}
	return b.Error.Code, b.Error.Message
}

// TestHandler_Unrouted: what ServeMux would answer in plain text is
// answered in the error shape, while the dashboard and the Extra mounts
// keep their own answers.
func TestHandler_Unrouted(t *testing.T) {
	t.Parallel()
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<p>no page</p>")
	})
	sim := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "sim says no", http.StatusMethodNotAllowed)
	})
	h := Handler(Config{UI: ui, Extra: map[string]http.Handler{"/simulator/brevo/": sim}})

	t.Run("NotFound", func(t *testing.T) {
		resp, body := serve(t, h, "GET", "/api/v1/nope")
		code, msg := errorOf(t, body)
		if resp.StatusCode != 404 || code != "not_found" || !strings.Contains(msg, "/api/v1/nope") || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET /api/v1/nope: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		resp, body := serve(t, h, "DELETE", "/api/v1/skills")
		code, msg := errorOf(t, body)
		if resp.StatusCode != 405 || code != "method_not_allowed" || !strings.Contains(resp.Header.Get("Allow"), "GET") || !strings.Contains(msg, "GET") {
			t.Errorf("DELETE /api/v1/skills: %d Allow %q %s", resp.StatusCode, resp.Header.Get("Allow"), body)
		}
		resp, body = serve(t, h, "GET", "/api/v1/dlq/retry")
		if code, _ := errorOf(t, body); resp.StatusCode != 405 || code != "method_not_allowed" || resp.Header.Get("Allow") != "DELETE, POST" {
			t.Errorf("GET /api/v1/dlq/retry: %d Allow %q %s", resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	})
	t.Run("WebhookMethod", func(t *testing.T) {
		resp, body := serve(t, h, "GET", "/webhooks/shopify")
		if code, _ := errorOf(t, body); resp.StatusCode != 405 || code != "method_not_allowed" || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET /webhooks/shopify: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("DashboardKeepsItsPages", func(t *testing.T) {
		resp, body := serve(t, h, "GET", "/ui/nope")
		if resp.StatusCode != 404 || body != "<p>no page</p>" {
			t.Errorf("GET /ui/nope: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("ExtraKeepsItsAnswers", func(t *testing.T) {
		resp, body := serve(t, h, "DELETE", "/simulator/brevo/contacts")
		if resp.StatusCode != 405 || !strings.Contains(body, "sim says no") {
			t.Errorf("DELETE /simulator/brevo/contacts: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("RootRedirectsToDashboard", func(t *testing.T) {
		resp, _ := serve(t, h, "GET", "/")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
			t.Errorf("GET /: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("RootIndexWithoutDashboard", func(t *testing.T) {
		resp, body := serve(t, Handler(Config{}), "GET", "/")
		var idx map[string]string
		_ = json.Unmarshal([]byte(body), &idx)
		if resp.StatusCode != 200 || idx["openapi"] != "/api/v1/openapi.yaml" {
			t.Errorf("GET / without the dashboard: %d %s", resp.StatusCode, body)
		}
		resp, body = serve(t, Handler(Config{}), "POST", "/")
		if code, _ := errorOf(t, body); resp.StatusCode != 405 || code != "method_not_allowed" {
			t.Errorf("POST /: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("CleanedPathStillRedirects", func(t *testing.T) {
		resp, _ := serve(t, h, "GET", "/api/v1//skills")
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/api/v1/skills" {
			t.Errorf("GET /api/v1//skills: %d, want ServeMux's redirect to the cleaned path", resp.StatusCode)
		}
	})
}
