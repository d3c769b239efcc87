package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"synclayer"
)

var (
	_ synclayer.WorkflowStore = (*DB)(nil)
	_ synclayer.WorkflowTx    = (*Tx)(nil)
)

const workflowActionColumns = "id, rule, action, kind, fingerprint, trigger_type, trigger_key, event_id, contact_id, snapshot, created_at"

// AddWorkflowAction inserts the row unless one for the same rule, action,
// trigger type and key exists; the unique index decides, so two instances
// firing the same trigger at once store one row.
func (t *Tx) AddWorkflowAction(ctx context.Context, a *synclayer.WorkflowAction) (bool, error) {
	err := t.tx.QueryRowContext(ctx, t.s.q(`INSERT INTO workflow_actions (rule, action, kind, fingerprint, trigger_type, trigger_key, event_id, contact_id, snapshot, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, action, trigger_type, trigger_key) DO NOTHING RETURNING id`),
		a.Rule, a.Action, a.Kind, a.Fingerprint, string(a.TriggerType), a.TriggerKey, a.EventID, a.ContactID, string(a.View), micros(a.CreatedAt)).Scan(&a.ID)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add workflow action: %w", err)
	}
	return true, nil
}

// FindWorkflowAction returns an action row, or ENOTFOUND.
func (s *DB) FindWorkflowAction(ctx context.Context, id int64) (*synclayer.WorkflowAction, error) {
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+workflowActionColumns+" FROM workflow_actions WHERE id = ?"), id)
	out, err := scanWorkflowActions(rows, err)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(fmt.Sprintf("workflow action %d", id))
	}
	return out[0], nil
}

// FindWorkflowActions returns action rows matching f, newest first; at
// most 100 unless f.Limit says otherwise.
func (s *DB) FindWorkflowActions(ctx context.Context, f synclayer.WorkflowActionFilter) ([]*synclayer.WorkflowAction, error) {
	var where []string
	var args []any
	if f.Rule != "" {
		where, args = append(where, "rule = ?"), append(args, f.Rule)
	}
	if f.TriggerKey != "" {
		where, args = append(where, "trigger_key = ?"), append(args, f.TriggerKey)
	}
	if f.ContactID != "" {
		where, args = append(where, "contact_id = ?"), append(args, f.ContactID)
	}
	q := "SELECT " + workflowActionColumns + " FROM workflow_actions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+" ORDER BY id DESC LIMIT ?"), append(args, limit)...)
	return scanWorkflowActions(rows, err)
}

// CountWorkflowActions counts rule's rows with fingerprint and an ID
// below beforeID.
func (s *DB) CountWorkflowActions(ctx context.Context, rule, fingerprint string, beforeID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM workflow_actions WHERE rule = ? AND fingerprint = ? AND id < ?"), rule, fingerprint, beforeID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count workflow actions: %w", err)
	}
	return n, nil
}

func scanWorkflowActions(rows *sql.Rows, err error) ([]*synclayer.WorkflowAction, error) {
	if err != nil {
		return nil, fmt.Errorf("find workflow actions: %w", err)
	}
	defer rows.Close()
	var out []*synclayer.WorkflowAction
	for rows.Next() {
		var a synclayer.WorkflowAction
		var typ, view string
		var created int64
		if err := rows.Scan(&a.ID, &a.Rule, &a.Action, &a.Kind, &a.Fingerprint, &typ, &a.TriggerKey, &a.EventID, &a.ContactID, &view, &created); err != nil {
			return nil, fmt.Errorf("find workflow actions: %w", err)
		}
		a.TriggerType, a.View, a.CreatedAt = synclayer.EventType(typ), []byte(view), fromMicros(created)
		out = append(out, &a)
	}
	return out, rows.Err()
}
