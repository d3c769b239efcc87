-- +goose Up
-- The fingerprint of the action's config when the row was made: the
-- handler finds the action by it, so reordering a rule's actions cannot
-- make a pending row run another action of the same kind. '' for rows
-- made before it, which are found by index and kind as before.
ALTER TABLE workflow_actions ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';

-- The trigger type joins the once-key: a rule whose trigger is changed
-- (order_created to order_cancelled, both keyed by the order) must fire
-- for the new trigger, not find the old trigger's row and do nothing.
DROP INDEX workflow_actions_once;
CREATE UNIQUE INDEX workflow_actions_once ON workflow_actions (rule, action, trigger_type, trigger_key);
