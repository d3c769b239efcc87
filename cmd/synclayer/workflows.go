package main

import (
	"synclayer/destination/brevo"
	"synclayer/ingest"
)

// WorkflowConfig is one rule under workflows:. (Filled in by the workflows work.)
type WorkflowConfig struct{}

// finishWorkflows checks every rule: its trigger, filter and actions.
func (c *Config) finishWorkflows(e *configErrors) {}

// workflowIngest lets ingest fire the rules' triggers.
func (m *Main) workflowIngest(cfg *ingest.Config) {}

// startWorkflows starts the worker that runs the rules' actions.
func (m *Main) startWorkflows(client *brevo.Client) {}
