package feed_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"parcours/services"
	"parcours/services/accruals/accompanimenttest"
	"parcours/services/auth"
	"parcours/services/feed"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/servicetest"
)

// world is one beneficiary of Agen 1 with a convocation to a session held in Nérac at Pôle
// emploi, an orientation to a CCAS, an enrolment there and a contract.
type world struct {
	db                                          *gorm.DB
	poleEmploi, ccas                            int64
	convocation, orientation, enrolment, person int64
	contract                                    int64
}

func newWorld(t *testing.T) world {
	t.Helper()
	db := servicetest.NewDB(t)
	f := accompanimenttest.New(t, db, "47")
	f.Territory("47-AGEN1")
	f.Territory("47-NERAC")
	w := world{db: db, poleEmploi: f.Organisation("Pôle emploi Nérac", "pole_emploi"), ccas: f.Organisation("CCAS Agen", "ccas")}
	w.person = f.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-01-02"})
	session := f.Session("47-NERAC", w.poleEmploi, time.Date(2020, 2, 3, 9, 0, 0, 0, time.UTC))
	w.convocation = f.Convocation(session, w.person, "2020-01-15", "present")
	w.orientation = f.Orientation(w.person, w.ccas, "2020-02-03", "2020-02-05")
	programme := f.Programme("ag", "4.1", accompanimenttest.PerMonth("100.00"))
	w.enrolment = f.Enrolment(accompanimenttest.Enrolment{Beneficiary: w.person, Programme: programme, Organisation: w.ccas,
		Orientation: w.orientation, StartedOn: "2020-02-10"})
	f.Contract(w.enrolment, w.person, "cer", "2020-02-20")
	require.NoError(t, db.Table("contracts").Select("max(id)").Scan(&w.contract).Error)
	return w
}

// appendAll writes one event per entity of w in one transaction.
func (w world) appendAll(t *testing.T) {
	t.Helper()
	require.NoError(t, w.db.Transaction(func(tx *gorm.DB) error {
		for _, e := range []struct {
			entity feed.Entity
			action feed.Action
			id     int64
		}{
			{feed.Convocation, feed.Updated, w.convocation},
			{feed.Orientation, feed.Created, w.orientation},
			{feed.Enrolment, feed.Created, w.enrolment},
			{feed.Contract, feed.Created, w.contract},
		} {
			if err := feed.Append(tx, e.entity, e.action, e.id); err != nil {
				return err
			}
		}
		return nil
	}))
}

func readAll(t *testing.T, svc *feed.Service, p auth.Principal) []feed.Event {
	t.Helper()
	page, err := svc.List(servicetest.As(p), services.PageRequest{Limit: 50})
	require.NoError(t, err)
	return page.Items
}

func entities(events []feed.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e.EntityType) + " " + string(e.Action)
	}
	return out
}

func TestEventsCarryPublicFieldsAndAreScoped(t *testing.T) {
	w := newWorld(t)
	w.appendAll(t)
	svc := feed.New(w.db)

	all := readAll(t, svc, servicetest.Admin47)
	require.Equal(t, []string{"convocation updated", "orientation created", "enrolment created", "contract created"}, entities(all))
	conv, orient, enrol, contract := all[0], all[1], all[2], all[3]
	assert.Equal(t, w.poleEmploi, conv.OrganisationID, "a convocation belongs to the session's site")
	assert.Equal(t, "47-NERAC", conv.TerritoryCode, "and to the session's territory")
	assert.Equal(t, w.ccas, orient.OrganisationID)
	assert.Equal(t, "47-AGEN1", orient.TerritoryCode, "an orientation is in the beneficiary's territory")
	assert.Equal(t, w.ccas, contract.OrganisationID, "a contract belongs to its enrolment's organisation")
	for _, e := range all {
		assert.Equal(t, w.person, e.BeneficiaryID)
		var payload map[string]any
		require.NoError(t, json.Unmarshal(e.Payload, &payload))
		assert.EqualValues(t, e.EntityID, payload["id"])
		assert.NotContains(t, payload, "nir")
		assert.NotContains(t, payload, "last_name")
	}
	var payload map[string]any
	require.NoError(t, json.Unmarshal(conv.Payload, &payload))
	assert.Equal(t, map[string]any{"id": float64(w.convocation), "session_id": payload["session_id"], "beneficiary_id": float64(w.person),
		"sent_on": "2020-01-15", "attendance": "present", "catch_up_on": nil, "catch_up_attended": nil, "version": float64(1)}, payload)
	require.NoError(t, json.Unmarshal(enrol.Payload, &payload))
	assert.Equal(t, "ag", payload["programme_code"])
	assert.Equal(t, "2020-02-10", payload["started_on"])

	partner := func(org int64) auth.Principal {
		return auth.Principal{Subject: "pe", Role: auth.RolePartner, Departement: "47", Organisation: strconv.FormatInt(org, 10)}
	}
	agent := func(territory string) auth.Principal {
		return auth.Principal{Subject: "cms", Role: auth.RoleAgent, Departement: "47", Territories: []string{territory}}
	}
	for name, tt := range map[string]struct {
		p    auth.Principal
		want []string
	}{
		"partner of the session's site":   {partner(w.poleEmploi), []string{"convocation updated"}},
		"partner of the CCAS":             {partner(w.ccas), []string{"orientation created", "enrolment created", "contract created"}},
		"partner with a malformed org":    {auth.Principal{Subject: "x", Role: auth.RolePartner, Departement: "47", Organisation: "pe-agen"}, []string{}},
		"agent of the beneficiary's CMS":  {agent("47-AGEN1"), []string{"orientation created", "enrolment created", "contract created"}},
		"agent of the session's CMS":      {agent("47-NERAC"), []string{"convocation updated"}},
		"administrator of another county": {auth.Principal{Subject: "a", Role: auth.RoleAdmin, Departement: "33"}, []string{}},
	} {
		assert.Equal(t, tt.want, entities(readAll(t, svc, tt.p)), name)
	}

	_, err := svc.List(servicetest.As(auth.Principal{Subject: "m", Role: auth.RoleManager, Departement: "47"}), services.PageRequest{Limit: 5})
	assert.ErrorIs(t, err, services.ErrForbidden)

	var reads int64
	require.NoError(t, w.db.Table("audit_events").Where("action = 'read' AND resource = 'feed_event'").Count(&reads).Error)
	assert.Equal(t, int64(4+1+3+3+1), reads, "every event handed out is an audited read")

	require.Error(t, w.db.Transaction(func(tx *gorm.DB) error { return feed.Append(tx, feed.Contract, feed.Created, 999999) }))
	require.Error(t, w.db.Transaction(func(tx *gorm.DB) error { return feed.Append(tx, "beneficiary", feed.Created, w.person) }))
}

func TestPagesFollowTheCursor(t *testing.T) {
	w := newWorld(t)
	w.appendAll(t)
	w.appendAll(t)
	svc := feed.New(w.db)
	ctx := servicetest.As(servicetest.Admin47)

	var seen []int64
	var after []string
	for range 4 {
		page, err := svc.List(ctx, services.PageRequest{Limit: 3, After: after})
		require.NoError(t, err)
		for _, e := range page.Items {
			seen = append(seen, e.ID)
		}
		require.NotNil(t, page.Next)
		after = page.Next
	}
	require.Len(t, seen, 8)
	for i := 1; i < len(seen); i++ {
		assert.Less(t, seen[i-1], seen[i], "one writer at a time: id order")
	}
	page, err := svc.List(ctx, services.PageRequest{Limit: 3, After: after})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	assert.Equal(t, after, page.Next, "with nothing new, poll again from the same cursor")

	for _, bad := range [][]string{{"1"}, {"x", "1"}, {"1", "-2"}, {"1", "2", "3"}} {
		_, err := svc.List(ctx, services.PageRequest{Limit: 3, After: bad})
		var verr *services.ValidationError
		assert.ErrorAs(t, err, &verr, "%v", bad)
	}
}

// A transaction that took its xid first but its event id last, and committed first, is handed
// out first; the younger transaction's event, with the smaller id, still comes afterwards. A
// cursor that was the last id alone would have skipped it.
func TestAnEarlierIDCommittedLaterIsNotSkipped(t *testing.T) {
	w := newWorld(t)
	svc := feed.New(w.db)
	ctx := servicetest.As(servicetest.Admin47)

	older := w.db.Begin()
	require.NoError(t, older.Error)
	require.NoError(t, older.Exec(`SELECT pg_current_xact_id()`).Error, "the older transaction takes its xid")
	younger := w.db.Begin()
	require.NoError(t, younger.Error)
	require.NoError(t, feed.Append(younger, feed.Convocation, feed.Updated, w.convocation), "the younger one takes the smaller id")
	require.NoError(t, feed.Append(older, feed.Orientation, feed.Updated, w.orientation))

	page, err := svc.List(ctx, services.PageRequest{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, page.Items, "nothing is committed")

	require.NoError(t, older.Commit().Error)
	first, err := svc.List(ctx, services.PageRequest{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []string{"orientation updated"}, entities(first.Items), "the older transaction has ended: its event is final")

	require.NoError(t, younger.Commit().Error)
	second, err := svc.List(ctx, services.PageRequest{Limit: 10, After: first.Next})
	require.NoError(t, err)
	require.Equal(t, []string{"convocation updated"}, entities(second.Items))
	assert.Less(t, second.Items[0].ID, first.Items[0].ID, "handed out after an event with a larger id")

	// The other order: the younger transaction commits first but waits for the older one.
	older, younger = w.db.Begin(), nil
	require.NoError(t, older.Exec(`SELECT pg_current_xact_id()`).Error)
	younger = w.db.Begin()
	require.NoError(t, feed.Append(younger, feed.Enrolment, feed.Updated, w.enrolment))
	require.NoError(t, younger.Commit().Error)
	third, err := svc.List(ctx, services.PageRequest{Limit: 10, After: second.Next})
	require.NoError(t, err)
	assert.Empty(t, third.Items, "held back while an older transaction may still write")
	require.NoError(t, older.Rollback().Error)
	third, err = svc.List(ctx, services.PageRequest{Limit: 10, After: second.Next})
	require.NoError(t, err)
	assert.Equal(t, []string{"enrolment updated"}, entities(third.Items))
}

// Writers append events in transactions that take their xid early and append late, with
// pauses, some rolling back, while a reader polls with small pages: every committed event is
// handed out exactly once, none of a rolled-back transaction, in strictly increasing cursor
// order, and each transaction's events in id order.
func TestConcurrentWritersAndAPollingReader(t *testing.T) {
	w := newWorld(t)
	svc := feed.New(w.db)
	ctx := servicetest.As(servicetest.Admin47)
	targets := []struct {
		entity feed.Entity
		id     int64
	}{{feed.Convocation, w.convocation}, {feed.Orientation, w.orientation}, {feed.Enrolment, w.enrolment}, {feed.Contract, w.contract}}

	const writers, transactions = 5, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 47))
			pause := func() { time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond) }
			for n := range transactions {
				err := w.db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Exec(`SELECT pg_current_xact_id()`).Error; err != nil {
						return err
					}
					pause()
					for range 1 + r.IntN(3) {
						target := targets[r.IntN(len(targets))]
						if err := feed.Append(tx, target.entity, feed.Updated, target.id); err != nil {
							return err
						}
						pause()
					}
					if n%5 == 4 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	type seenEvent struct {
		id       int64
		position []string
	}
	var seen []seenEvent
	var after []string
	poll := func() int {
		page, err := svc.List(ctx, services.PageRequest{Limit: 1 + rand.IntN(7), After: after})
		require.NoError(t, err)
		for _, e := range page.Items {
			seen = append(seen, seenEvent{e.ID, e.Position})
		}
		after = page.Next
		return len(page.Items)
	}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
			poll()
		}
	}
	for poll() > 0 {
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	var committed []int64
	require.NoError(t, w.db.Table("outbox_events").Order("id").Pluck("id", &committed).Error)
	require.NotEmpty(t, committed)
	ids := map[int64]int{}
	for _, s := range seen {
		ids[s.id]++
	}
	for _, id := range committed {
		assert.Equal(t, 1, ids[id], "event %d seen once", id)
	}
	assert.Len(t, seen, len(committed), "nothing of a rolled-back transaction, nothing twice")
	for i := 1; i < len(seen); i++ {
		prev, cur := position(t, seen[i-1].position), position(t, seen[i].position)
		assert.True(t, prev[0] < cur[0] || (prev[0] == cur[0] && prev[1] < cur[1]), "cursor order at %d: %v then %v", i, prev, cur)
	}
}

// errRollback makes a writer roll its transaction back.
var errRollback = errors.New("roll back")

func position(t *testing.T, p []string) [2]uint64 {
	t.Helper()
	require.Len(t, p, 2)
	xid, err := strconv.ParseUint(p[0], 10, 64)
	require.NoError(t, err)
	id, err := strconv.ParseUint(p[1], 10, 64)
	require.NoError(t, err)
	return [2]uint64{xid, id}
}
