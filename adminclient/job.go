package adminclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"synclayer"
)

type jobList struct {
	Jobs []*synclayer.Job `json:"jobs"`
}

// JobService lists delivery jobs (viewer).
type JobService struct{ c *Client }

// Jobs returns the job calls.
func (c *Client) Jobs() *JobService { return &JobService{c} }

// List returns jobs in state ("" for all), most recently updated first.
func (s *JobService) List(ctx context.Context, state synclayer.JobState) ([]*synclayer.Job, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", string(state))
	}
	var out jobList
	err := s.c.do(ctx, http.MethodGet, "/api/v1/jobs", q, nil, &out)
	return out.Jobs, err
}

// DLQService reads and resolves dead-lettered deliveries.
type DLQService struct{ c *Client }

// DLQ returns the dead-letter queue calls.
func (c *Client) DLQ() *DLQService { return &DLQService{c} }

// List returns the dead-lettered jobs, each with the reason it gave up
// (viewer).
func (s *DLQService) List(ctx context.Context) ([]*synclayer.Job, error) {
	var out jobList
	err := s.c.do(ctx, http.MethodGet, "/api/v1/dlq", nil, nil, &out)
	return out.Jobs, err
}

// Retry puts a dead job back in the queue with a fresh retry budget
// (operator); an ID that is not dead is an *Error with Code "not_found".
func (s *DLQService) Retry(ctx context.Context, id int64) error {
	return s.c.do(ctx, http.MethodPost, "/api/v1/dlq/"+strconv.FormatInt(id, 10)+"/retry", nil, nil, nil)
}

// Delete discards a dead job for good (operator).
func (s *DLQService) Delete(ctx context.Context, id int64) error {
	return s.c.do(ctx, http.MethodDelete, "/api/v1/dlq/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// RetryAll puts every dead job back in the queue, or with skill only
// those of that skill as List shows it (customer-sync@klaviyo), and
// returns how many it requeued (operator).
func (s *DLQService) RetryAll(ctx context.Context, skill string) (int, error) {
	var in any
	if skill != "" {
		in = map[string]string{"skill": skill}
	}
	var out struct {
		Requeued int `json:"requeued"`
	}
	err := s.c.do(ctx, http.MethodPost, "/api/v1/dlq/retry", nil, in, &out)
	return out.Requeued, err
}
