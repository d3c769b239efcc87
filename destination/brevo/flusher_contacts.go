package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"synclayer"
	"synclayer/skill"
)

// importer gathers one list's contacts into a POST /contacts/import body
// and sends it when the next contact would take it past MaxBytes.
type importer struct {
	f      *Flusher
	listID int64
	body   bytes.Buffer // the jsonBody array being built
	items  []synclayer.ImportItem
	// since is when the first of items was planned: a sync state written
	// after it (a realtime opt-out while the import was being built or
	// sent) is newer than what the import carries, and CompleteImport keeps it.
	since time.Time
}

// envelope is a generous bound on what the request adds around jsonBody.
const envelope = 256

func (im *importer) add(ctx context.Context, row ImportContact, item synclayer.ImportItem, planned time.Time, st *synclayer.BatchStats) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	if len(im.items) > 0 && im.body.Len()+len(b)+1+envelope > im.f.cfg.MaxBytes {
		if err := im.send(ctx, st); err != nil {
			return err
		}
	}
	if im.body.Len() == 0 {
		if im.body.Cap() == 0 {
			im.body.Grow(im.f.cfg.MaxBytes) // once: doubling would hold up to twice the limit
		}
		im.body.WriteByte('[')
	} else {
		im.body.WriteByte(',')
	}
	im.body.Write(b)
	if len(im.items) == 0 {
		im.since = planned
	}
	im.items = append(im.items, item)
	return nil
}

// send starts the import and records it with its jobs, which stay claimed
// until its process ends (Check). A refused import retries its jobs.
func (im *importer) send(ctx context.Context, st *synclayer.BatchStats) error {
	if len(im.items) == 0 {
		return nil
	}
	im.body.WriteByte(']')
	items := im.items
	defer func() { im.body.Reset(); im.items = nil }()
	id, err := im.f.cfg.Client.ImportContacts(ctx, ImportRequest{
		JSONBody: json.RawMessage(im.body.Bytes()), ListIDs: []int64{im.listID},
		UpdateExistingContacts: true, EmptyContactsAttributes: false, DisableNotification: true,
	})
	if err != nil {
		im.f.failAll(ctx, items, err, st)
		return nil
	}
	now := im.f.cfg.Now()
	imp := &synclayer.Import{Skill: im.f.cfg.Skill, Queue: im.f.queue, ProcessID: strconv.FormatInt(id, 10), CreatedAt: im.since,
		CheckAt: now.Add(im.f.cfg.PollMin),
		Summary: fmt.Sprintf("brevo: POST /contacts/import → process %d completed (into list %d, with %d contacts)", id, im.listID, len(items))}
	if err := im.f.cfg.Store.AddImport(ctx, imp, items, now.Add(im.f.cfg.Hold)); err != nil {
		// Brevo has the import but we could not record it: the jobs'
		// leases run out and they are imported again, which is harmless.
		return fmt.Errorf("record import process %d: %w", id, err)
	}
	st.Batched += len(items)
	st.Calls++
	return nil
}

func (f *Flusher) flushContacts(ctx context.Context) (synclayer.BatchStats, error) {
	var st synclayer.BatchStats
	cs, importList := f.cfg.Contacts, f.cfg.ImportListID
	if f.cfg.CurrentContacts != nil {
		if cs, importList = f.cfg.CurrentContacts(); cs == nil {
			return st, nil
		}
	}
	lists := map[ImportPath]*importer{
		PathList:  {f: f, listID: cs.ListID},
		PathQuiet: {f: f, listID: importList},
	}
	for {
		jobs, err := f.claim(ctx, st.Claimed)
		if err != nil {
			return st, err
		}
		if len(jobs) == 0 {
			break
		}
		st.Claimed += len(jobs)
		planned := f.cfg.Now() // before any sync state of the chunk is read
		var realtime []*synclayer.Job
		var unchanged []synclayer.ImportItem
		for _, j := range jobs {
			p, err := cs.PlanImport(ctx, j, importList)
			switch {
			case err != nil:
				f.fail(ctx, j, err, &st)
			case p.Path == PathNone:
				unchanged = append(unchanged, synclayer.NewImportItem(j, p.State, ""))
			case p.Path == PathRealtime:
				realtime = append(realtime, j)
			default:
				if err := lists[p.Path].add(ctx, p.Row, synclayer.NewImportItem(j, p.State, j.RecordKey), planned, &st); err != nil {
					return st, err
				}
			}
		}
		// Consent first: the opt-outs of this chunk go out before any
		// import of it is sent.
		f.realtime(ctx, &skill.CustomerSync{Store: f.cfg.Store, Destination: accountName(f.cfg.Destination), Sync: cs}, realtime, &st)
		if err := f.finishAtOnce(ctx, "none", "brevo: no call (batch: nothing the mapping sends has changed)", unchanged, planned); err != nil {
			return st, err
		}
		st.Unchanged += len(unchanged)
		if len(jobs) < claimChunk {
			break
		}
	}
	for _, path := range []ImportPath{PathList, PathQuiet} {
		if err := lists[path].send(ctx, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Check asks Brevo about the imports whose check is due, completes the
// ones whose process completed and fails the ones whose process failed,
// and returns how many are still pending. Several due imports cost one
// GET /processes; a single one GET /processes/{id}.
func (f *Flusher) Check(ctx context.Context) (int, error) {
	imps, err := f.cfg.Store.FindImports(ctx, f.cfg.Skill)
	if err != nil {
		return 0, err
	}
	now := f.cfg.Now()
	var due []*synclayer.Import
	processes := 0 // due imports Brevo has a process for
	for _, imp := range imps {
		if !imp.CheckAt.After(now) {
			due = append(due, imp)
			if _, err := strconv.ParseInt(imp.ProcessID, 10, 64); err == nil {
				processes++
			}
		}
	}
	if len(due) == 0 {
		return len(imps), nil
	}
	known := map[string]*Process{}
	if processes > 1 {
		list, err := f.cfg.Client.ListProcesses(ctx, 50)
		if err != nil {
			return len(imps), err
		}
		for i := range list {
			known[strconv.FormatInt(list[i].ID, 10)] = &list[i]
		}
	}
	pending := len(imps)
	for _, imp := range due {
		p := known[imp.ProcessID]
		id, perr := strconv.ParseInt(imp.ProcessID, 10, 64)
		switch {
		case perr != nil:
			// A batch done at the call (finishAtOnce, failAll) left over by
			// a crash between recording it and settling it:
			// Brevo has no process to ask about, and asking for one that
			// cannot exist would fail this check for good. Its records are
			// planned again, which sends only what Brevo lacks.
			p = &Process{Status: "failed", Error: "the run stopped before it recorded the outcome"}
		case p == nil:
			if p, err = f.cfg.Client.GetProcess(ctx, id); err != nil {
				if IsNotFound(err) {
					p = &Process{ID: id, Status: "failed", Error: "Brevo no longer knows the process"}
				} else {
					return pending, err
				}
			}
		}
		done, ok := p.Done()
		switch {
		case !done:
			wait := f.cfg.PollMin << min(imp.Checks+1, 10)
			if err := f.cfg.Store.DelayImport(ctx, imp.ID, now.Add(min(wait, f.cfg.PollMax))); err != nil {
				return pending, err
			}
			continue
		case ok && p.Skipped() > 0:
			// Which rows Brevo left out (an email it finds invalid, an
			// ext_id another contact holds) it does not say: recording every
			// row as delivered would keep the skipped ones out of Brevo for
			// good, since a resync would find nothing to send.
			f.cfg.Logger.Warn("a Brevo import skipped contacts; its contacts are sent again at their next change or resync",
				"skill", f.cfg.Skill, "process", imp.ProcessID, "contacts", imp.Items, "skipped", p.Skipped())
			err = f.cfg.Store.CompleteImportWithoutState(ctx, imp.ID, now)
		case ok:
			err = f.cfg.Store.CompleteImport(ctx, imp.ID, now)
		default:
			reason := fmt.Sprintf("brevo: import process %s ended %s", imp.ProcessID, p.Status)
			if p.Error != "" {
				reason += ": " + p.Error
			}
			f.cfg.Logger.Warn("a Brevo import failed; its contacts are queued again", "skill", f.cfg.Skill, "process", imp.ProcessID, "contacts", imp.Items)
			err = f.cfg.Store.FailImport(ctx, imp.ID, reason, now.Add(f.cfg.PollMin), now)
		}
		if err != nil && synclayer.ErrorCode(err) != synclayer.ENOTFOUND {
			return pending, err
		}
		pending--
	}
	return pending, nil
}
