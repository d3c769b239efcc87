package adminclient

import (
	"context"
	"encoding/json"
	"net/http"
)

// Skill is a skill as the server runs it. Config is its settings in the
// shape of its block under skills: in synclayer.yaml. Version is the
// config version a change recorded (the running one when nothing changed).
type Skill struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// Editable is false for skills set in the config file, which change
	// with the file and a restart rather than through the API.
	Editable bool            `json:"editable"`
	Sources  []string        `json:"sources"`
	Config   json.RawMessage `json:"config"`
	Version  int             `json:"version,omitempty"`
}

// TriggerResult is what became of a triggered event: its stored ID, its
// status ("applied", "unchanged", or "failed" with Reason) and the contact.
type TriggerResult struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	ContactID string `json:"contactId,omitempty"`
}

// SkillService reads and changes skills.
type SkillService struct{ c *Client }

// Skills returns the skill calls.
func (c *Client) Skills() *SkillService { return &SkillService{c} }

// List returns every skill, enabled or not (viewer).
func (s *SkillService) List(ctx context.Context) ([]Skill, error) {
	var out struct {
		Skills []Skill `json:"skills"`
	}
	err := s.c.do(ctx, http.MethodGet, "/api/v1/skills", nil, nil, &out)
	return out.Skills, err
}

// Enable enables or updates a skill with cfg, its whole config in
// synclayer.yaml's shape: any value that marshals to that JSON, such as a
// map or json.RawMessage. The change applies at once (admin). An invalid
// config is an *Error with Code "invalid" and Field naming the key.
func (s *SkillService) Enable(ctx context.Context, name string, cfg any) (*Skill, error) {
	var out Skill
	if err := s.c.do(ctx, http.MethodPut, "/api/v1/skills/"+escape(name), nil, cfg, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Disable stops a skill and keeps its config (admin).
func (s *SkillService) Disable(ctx context.Context, name string) (*Skill, error) {
	var out Skill
	if err := s.c.do(ctx, http.MethodPost, "/api/v1/skills/"+escape(name)+"/disable", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Trigger pushes one event through the same validation and pipeline as a
// webhook (operator). data is the customer in the custom source's format:
// canonical field names ("email", "firstName"), "emailConsent", "attributes".
func (s *SkillService) Trigger(ctx context.Context, name, event string, data any) (*TriggerResult, error) {
	in := map[string]any{"event": event, "data": data}
	var out TriggerResult
	if err := s.c.do(ctx, http.MethodPost, "/api/v1/skills/"+escape(name)+"/trigger", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
