// Package feed is the change feed partners follow: a transactional outbox of the creations
// and changes of convocations, orientations, enrolments and contracts, appended by the
// services in the transaction that makes the change (Append, next to audit.Record), and read
// oldest first, in the caller's scope, with a cursor that never skips nor repeats an event
// however many transactions write at once (Service.List).
//
// Why the cursor cannot skip. Ids come from a sequence when a row is inserted, not when its
// transaction commits: a transaction may take id 9, then commit after another one took id 10
// and committed. A reader that had handed out 10 and kept "10" as its cursor would never see
// 9. So the feed is ordered by the writing transaction first: each row keeps the 64-bit id of
// its transaction (xid, pg_current_xact_id()), and a read hands out only the events whose
// transaction is older than every transaction of this database still in progress (xid <
// pg_snapshot_xmin(pg_current_snapshot()), see horizon), in (xid, id) order; the cursor is the
// (xid, id) of the last event handed out. Every transaction of this database with an xid
// below that horizon has ended, so the set of events below it is final: nothing can join it
// later, and a read hands out a prefix of it in cursor order. Any transaction still running,
// or yet to start, has an xid at or above the horizon, above the xid of every event handed
// out, so its events sort after the cursor and come in a later read. Hence no skip (the set
// below the cursor never grows) and no repeat (a read starts strictly after the cursor).
// Within one transaction, events come in id order; across transactions, in the order the
// transactions took their xids. The price: an event waits, before it is handed out, for every
// older transaction of the database to end, so a long transaction delays the feed.
package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
)

// Entity is the type of record an event is about.
type Entity string

// The entity types of the feed.
const (
	Convocation Entity = "convocation"
	Orientation Entity = "orientation"
	Enrolment   Entity = "enrolment"
	Contract    Entity = "contract"
)

// Action says whether the record was created or changed.
type Action string

// The actions of the feed.
const (
	Created Action = "created"
	Updated Action = "updated"
)

// resource is the audit resource of a read of feed events.
const resource = "feed_event"

// sources select, for each entity type, the row of the event of record e.id: its
// département, the beneficiary, the organisation and territory the feed is scoped by, and
// the payload — the entity's public fields, listed one by one so that no column added later
// (let alone a NIR) leaks into the feed.
var sources = map[Entity]string{
	Convocation: `SELECT c.departement, c.id, c.beneficiary_id, s.site_organisation_id, s.territory_code,
		jsonb_build_object('id', c.id, 'session_id', c.session_id, 'beneficiary_id', c.beneficiary_id,
			'sent_on', c.sent_on, 'attendance', c.attendance, 'catch_up_on', c.catch_up_on,
			'catch_up_attended', c.catch_up_attended, 'version', c.version)
		FROM convocations c JOIN orientation_sessions s ON s.id = c.session_id WHERE c.id = e.id`,
	Orientation: `SELECT o.departement, o.id, o.beneficiary_id, o.organisation_id, b.territory_code,
		jsonb_build_object('id', o.id, 'beneficiary_id', o.beneficiary_id, 'route', o.route,
			'organisation_id', o.organisation_id, 'referent_id', o.referent_id, 'decided_on', o.decided_on,
			'notified_on', o.notified_on, 'origin', o.origin, 'convocation_id', o.convocation_id,
			'current', o.current, 'superseded_on', o.superseded_on)
		FROM orientations o JOIN beneficiaries b ON b.id = o.beneficiary_id WHERE o.id = e.id`,
	Enrolment: `SELECT en.departement, en.id, en.beneficiary_id, en.organisation_id, b.territory_code,
		jsonb_build_object('id', en.id, 'beneficiary_id', en.beneficiary_id, 'programme_code', pr.code,
			'organisation_id', en.organisation_id, 'referent_id', en.referent_id, 'orientation_id', en.orientation_id,
			'started_on', en.started_on, 'first_appointment_on', en.first_appointment_on, 'renewals', en.renewals,
			'ended_on', en.ended_on, 'exit_reason', en.exit_reason, 'version', en.version)
		FROM enrolments en JOIN programmes pr ON pr.id = en.programme_id JOIN beneficiaries b ON b.id = en.beneficiary_id
		WHERE en.id = e.id`,
	Contract: `SELECT k.departement, k.id, k.beneficiary_id, en.organisation_id, b.territory_code,
		jsonb_build_object('id', k.id, 'enrolment_id', k.enrolment_id, 'beneficiary_id', k.beneficiary_id,
			'type', k.type, 'signed_on', k.signed_on, 'starts_on', k.starts_on, 'ends_on', k.ends_on)
		FROM contracts k JOIN enrolments en ON en.id = k.enrolment_id JOIN beneficiaries b ON b.id = k.beneficiary_id
		WHERE k.id = e.id`,
}

// horizon is the feed's horizon in the statement's snapshot: the oldest transaction still in
// progress — pg_snapshot_xmin(pg_current_snapshot()) — leaving out those that
// pg_stat_activity shows running in another database, which cannot write this database's
// outbox (a long transaction elsewhere on the cluster would otherwise hold the feed back).
// Only a transaction known to be another database's is left out; one that has ended since the
// snapshot, or whose session is hidden, still counts, which only holds events back a little
// longer. Without any, the horizon is the snapshot's xmax. pg_stat_activity gives 32-bit xids:
// xip entries are compared modulo 2^32 (two transactions running at once never share them).
const horizon = `(SELECT coalesce(min(x), pg_snapshot_xmax(pg_current_snapshot()))
	FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
		WHERE a.datname <> current_database() AND a.backend_xid IS NOT NULL
			AND a.backend_xid::text = (x::text::numeric % 4294967296)::text))`

// Append writes the event of the creation or change of record id of type entity, as it
// stands now in tx. Call it with the transaction that makes the change, right after the
// change, so that the change and its event commit or roll back together.
func Append(tx *gorm.DB, entity Entity, action Action, id int64) error {
	return write(tx.Statement.Context, tx, entity, nil, []Change{{Action: action, ID: id}})
}

// Change is one creation or change of a record, for Record.
type Change struct {
	Action Action
	ID     int64
}

func (c Change) String() string { return string(c.Action) + " " + strconv.FormatInt(c.ID, 10) }

// auditActions are the audit trail's names of the feed's actions.
var auditActions = map[Action]string{Created: audit.ActionCreate, Updated: audit.ActionUpdate}

// Record writes, in one statement, the audit row (resource: the entity type) and the feed
// event of each change of records of type entity, in the order given, as they stand now in
// tx: what audit.Record then Append, change after change, would write, in one round trip.
// Call it with the transaction that made the changes, once they are made.
func Record(ctx context.Context, tx *gorm.DB, entity Entity, changes ...Change) error {
	ev, err := audit.Event(ctx, "", string(entity), "")
	if err != nil {
		return err
	}
	return write(ctx, tx, entity, &ev, changes)
}

// write inserts the events of changes, in order, in one statement, with their audit rows (ev
// with each change's action and id) when ev is not nil. The changes are a VALUES list, whose
// size the planner knows: it looks each record up by its id.
func write(ctx context.Context, tx *gorm.DB, entity Entity, ev *models.AuditEvent, changes []Change) error {
	src, ok := sources[entity]
	if !ok {
		return fmt.Errorf("feed: unknown entity type %q", entity)
	}
	var q strings.Builder
	args := []any{string(entity)}
	param := func(v any, cast string) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args)) + cast
	}
	if ev != nil {
		values := audit.Values(*ev)
		common := make([]string, len(values))
		for k, v := range values {
			if k != audit.ActionIndex && k != audit.ResourceIDIndex { // each change's
				common[k] = param(v, "::text")
			}
		}
		q.WriteString("WITH audited AS (INSERT INTO audit_events (" + audit.Columns + ") VALUES ")
		for i, c := range changes {
			row := slices.Clone(common)
			row[audit.ActionIndex] = param(auditActions[c.Action], "::text")
			row[audit.ResourceIDIndex] = param(strconv.FormatInt(c.ID, 10), "::text")
			q.WriteString(cond(i > 0, ", ", "") + "(" + strings.Join(row, ", ") + ")")
		}
		q.WriteString(")\n")
	}
	q.WriteString(`INSERT INTO outbox_events (departement, entity_id, beneficiary_id, organisation_id, territory_code, payload, entity_type, action)
		SELECT src.*, $1, e.action FROM (VALUES `)
	what := make([]string, len(changes))
	for i, c := range changes {
		q.WriteString(cond(i > 0, ", ", "") + "(" + param(c.ID, "::bigint") + ", " + param(string(c.Action), "::text") + ", " + strconv.Itoa(i) + ")")
		what[i] = c.String()
	}
	q.WriteString(`) AS e(id, action, n) CROSS JOIN LATERAL (` + src + `) AS src ORDER BY e.n`)
	res, err := tx.Statement.ConnPool.ExecContext(ctx, q.String(), args...)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n != int64(len(changes)) {
			return fmt.Errorf("feed: append %s %s: no such record", entity, strings.Join(what, ", "))
		}
	}
	if err != nil {
		return fmt.Errorf("feed: append %s %s: %w", entity, strings.Join(what, ", "), err)
	}
	return nil
}

func cond(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// Event is one event of the feed as the service hands it out. Position is its place in the
// feed, the cursor to read on from it.
type Event struct {
	ID             int64
	EntityType     Entity
	EntityID       int64
	Action         Action
	BeneficiaryID  int64
	OrganisationID int64
	TerritoryCode  string
	OccurredAt     time.Time
	Payload        json.RawMessage
	Position       []string
}

// Service reads the change feed.
type Service struct {
	db *gorm.DB
}

// New returns a feed reader over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// position is a place in the feed: the writing transaction and id of an event.
type position struct {
	xid uint64
	id  int64
}

func (p position) strings() []string {
	return []string{strconv.FormatUint(p.xid, 10), strconv.FormatInt(p.id, 10)}
}

// parsePosition reads the cursor after ([xid, id]; empty: the start of the feed).
func parsePosition(after []string) (position, error) {
	var pos position
	if len(after) == 0 {
		return pos, nil
	}
	var v services.Validator
	var err error
	if len(after) == 2 {
		pos.xid, err = strconv.ParseUint(after[0], 10, 64)
		if err == nil {
			pos.id, err = strconv.ParseInt(after[1], 10, 64)
		}
	}
	v.Check(len(after) == 2 && err == nil && pos.id >= 0, "after", "is not a cursor this API returned")
	return pos, v.Err()
}

// List returns, oldest first, at most page.Limit events of the caller's scope after the
// cursor page.After: all of the département's for an administrator, those of its territories
// for an agent, those of its organisation for a partner; managers are refused
// (services.ErrForbidden). Next is the cursor to poll from: the last event's position, or the
// cursor given when there is nothing new yet (nil only when the feed is empty and no cursor
// was given). The read of every event handed out is audited.
func (s *Service) List(ctx context.Context, page services.PageRequest) (services.Page[Event], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Event]{}, err
	}
	after, err := parsePosition(page.After)
	if err != nil {
		return services.Page[Event]{}, err
	}
	if page.Limit <= 0 {
		page.Limit = services.DefaultPageLimit
	}
	out := services.Page[Event]{Next: page.After}
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		q, err := scope(tx.Model(&models.OutboxEvent{}), p)
		if err != nil {
			return err
		}
		var rows []models.OutboxEvent
		if err := q.Select("id, departement, entity_type, entity_id, action, beneficiary_id, organisation_id, territory_code, occurred_at, payload, xid::text AS xid").
			Where("(xid, id) > (?::xid8, ?)", strconv.FormatUint(after.xid, 10), after.id).
			Where("xid < " + horizon).
			// Qualified: a bare "xid" would sort by the text column of the select list.
			Order("outbox_events.xid, outbox_events.id").Limit(page.Limit).Find(&rows).Error; err != nil {
			return fmt.Errorf("read the change feed: %w", err)
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ev, err := present(r)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, ev)
			out.Next = ev.Position
			ids[i] = strconv.FormatInt(r.ID, 10)
		}
		return audit.RecordMany(ctx, tx, audit.ActionRead, resource, ids)
	})
	return out, err
}

// scope restricts q, over outbox_events, to the events p may read.
func scope(q *gorm.DB, p auth.Principal) (*gorm.DB, error) {
	q = q.Where("departement = ?", p.Departement)
	switch p.Role {
	case auth.RoleAdmin:
		return q, nil
	case auth.RoleAgent:
		return q.Where("territory_code IN ?", p.Territories), nil
	case auth.RolePartner:
		org, ok := beneficiaries.OrganisationOf(p)
		if !ok {
			return q.Where("false"), nil
		}
		return q.Where("organisation_id = ?", org), nil
	default:
		return nil, fmt.Errorf("role %s may not read the change feed: %w", p.Role, services.ErrForbidden)
	}
}

func present(r models.OutboxEvent) (Event, error) {
	xid, err := strconv.ParseUint(r.XID, 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("feed event %d: transaction id %q: %w", r.ID, r.XID, err)
	}
	return Event{ID: r.ID, EntityType: Entity(r.EntityType), EntityID: r.EntityID, Action: Action(r.Action),
		BeneficiaryID: r.BeneficiaryID, OrganisationID: r.OrganisationID, TerritoryCode: r.TerritoryCode,
		OccurredAt: r.OccurredAt, Payload: r.Payload, Position: position{xid: xid, id: r.ID}.strings()}, nil
}
