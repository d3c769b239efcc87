// Package skill holds the ready-made sync workflows. Each skill turns the
// current state of a canonical record, and what the destination is known to
// hold, into the few destination calls that bring it up to date. Planning is
// a pure function; Handle runs the plan for one queue job.
package skill
