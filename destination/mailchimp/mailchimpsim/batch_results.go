package mailchimpsim

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"synclayer/destination/simkit"
	"time"
)

// packResults is the gzipped tar archive of results: a directory entry
// and .json files of at most resultsPerFile results each, in no
// particular order, so only operation_id tells which is which.
func packResults(id string, results []Result) []byte {
	results = slices.Clone(results)
	rand.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: id + "/", Mode: 0o755})
	for n := 0; n == 0 || n*resultsPerFile < len(results); n++ {
		part := results[n*resultsPerFile : min(len(results), (n+1)*resultsPerFile)]
		data, _ := json.Marshal(part)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/%s.json", id, newID()), Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// resultsPrefix is where, beside the API, the archives are served, as
// Mailchimp serves them from a signed storage link; resultsTTL is when
// the link's Expires falls (the simulator never expires one by itself:
// ExpireBatchResults does).
const (
	resultsPrefix = "/batch-results/"
	resultsTTL    = 10 * time.Minute
)

// serveResults answers a download of a results archive. Like a signed
// storage link it needs no API key and refuses one (a second credential
// beside the signature), and does not count as a connection; an outage
// affects it as it does the API.
func (s *Server) serveResults(w http.ResponseWriter, r *http.Request, file string) {
	s.mu.Lock()
	outage := s.outage
	b := s.batches[strings.TrimSuffix(file, "-response.tar.gz")]
	var data []byte
	if b != nil && b.status == "finished" && !b.expired {
		data = b.archive
	}
	s.mu.Unlock()
	switch {
	case outage == OutageTimeout:
		<-r.Context().Done()
	case outage == OutageDrop:
		simkit.Drop(w)
	case outage == Outage500:
		http.Error(w, "InternalError", http.StatusInternalServerError)
	case r.Method != http.MethodGet:
		http.Error(w, "MethodNotAllowed", http.StatusMethodNotAllowed)
	case r.Header.Get("Authorization") != "":
		http.Error(w, "InvalidArgument: Only one auth mechanism allowed", http.StatusBadRequest)
	case data == nil:
		http.Error(w, "AccessDenied: Request has expired", http.StatusForbidden)
	default:
		w.Header().Set("content-type", "application/x-gzip")
		w.WriteHeader(http.StatusOK)
		w.Write(data)
	}
}

// baseOf is the scheme, host and mount prefix (what precedes /3.0) of r,
// whose path has not been stripped yet.
func baseOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base, _ := r.Context().Value(mountKey{}).(string)
	return scheme + "://" + r.Host + base
}

type mountKey struct{}

// mountOf is what precedes /3.0 in the path the client asked for: the
// request URI, which http.StripPrefix leaves whole, so results links
// stay under the program's /simulator/<name> mount.
func mountOf(r *http.Request) string {
	p := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		p = u.Path
	}
	if i := strings.Index(p, "/3.0/"); i >= 0 {
		return p[:i]
	}
	return ""
}
