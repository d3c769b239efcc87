package pipedrive_test

import (
	"net/http"
	"testing"

	"synclayer/destination/pipedrive/pipedrivespec"
)

// validator checks requests against Pipedrive's spec (pipedrivespec).
func validator(tb testing.TB) func(*http.Request, []byte) error {
	return pipedrivespec.Load(tb).Validate
}
