package main

import (
	"encoding/json"
	"slices"
	"strings"

	"synclayer"
	"synclayer/api"
	"synclayer/skill"
)

// fileSkill is a skill set in the config file only: the admin API lists it
// but does not change it, so its settings change with the file and a
// restart. (customer-sync is the one the API changes, with its history.)
type fileSkill struct {
	name    string
	enabled bool
	sources []string
	config  any // its block under skills:, in the file's shape
}

// fileSkills returns the skills set in the config file, enabled or not, in
// the admin API's shape.
func (m *Main) fileSkills() []api.Skill {
	var out []api.Skill
	for _, s := range m.Config.fileSkillList() {
		raw, err := json.Marshal(s.config)
		if err != nil || string(raw) == "null" {
			raw = json.RawMessage("{}")
		}
		sources := []string{}
		if s.enabled {
			sources = append(sources, s.sources...)
		}
		out = append(out, api.Skill{Name: s.name, Enabled: s.enabled, Sources: sources, Config: raw})
	}
	return out
}

// fileSkillList lists order-events and product-catalog (and the skills
// added beside them) as configured.
func (c *Config) fileSkillList() []fileSkill {
	var out []fileSkill
	for _, s := range c.commerceSkills() {
		f := fileSkill{name: s.name}
		if s.cfg != nil {
			shown := *s.cfg
			shown.Enabled = false
			f.enabled, f.sources, f.config = s.cfg.Enabled, s.cfg.Source, shown
		}
		out = append(out, f)
	}
	cart := fileSkill{name: skill.CartEventsName} // carts.go
	if ce := c.Skills.CartEvents; ce != nil {
		shown := *ce
		shown.Enabled = false
		cart.enabled, cart.sources, cart.config = ce.Enabled, ce.Source, shown
	}
	return append(out, cart)
}

// knownSkill refuses a change to a skill the API does not change: not
// found for a name no skill has, a conflict for one set in the file.
func (m *Main) knownSkill(name string) error {
	if name == skill.CustomerSyncName {
		return nil
	}
	names := []string{skill.CustomerSyncName}
	for _, s := range m.Config.fileSkillList() {
		if s.name == name {
			return synclayer.Errorf(synclayer.ECONFLICT, "skill %s is set in the config file (skills.%s); change it there and restart synclayer. The admin API changes %s only", name, name, skill.CustomerSyncName)
		}
		names = append(names, s.name)
	}
	slices.Sort(names)
	return synclayer.Errorf(synclayer.ENOTFOUND, "no skill %q; available: %s", name, strings.Join(names, ", "))
}
