// Package auditlog reads the audit trail for administrators: who did what to which record,
// when, newest first, one keyset page at a time. The trail itself is written by
// services/audit, in the transaction of each change or read it records.
package auditlog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/audit"
	"parcours/services/auth"
)

// resource is the audit resource of a read of the trail itself.
const resource = "audit_events"

// Event is one audit row as the service hands it out.
type Event struct {
	ID         int64
	OccurredAt time.Time
	Actor      string
	Role       string
	Action     string
	Resource   string
	ResourceID string
	RequestID  string
}

// Filter narrows List; zero fields do not filter. From is included, To excluded.
type Filter struct {
	Actor      string
	Resource   string
	ResourceID string
	From, To   *time.Time
	Page       services.PageRequest
}

// Service reads the audit trail of the caller's département.
type Service struct {
	db *gorm.DB
}

// New returns an audit trail reader over db.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// List returns the audit events of the caller's département that f selects, newest first (by
// id, descending), one keyset page at a time: the cursor is the id of the last event handed
// out. Administrators only (services.ErrForbidden otherwise). The read of the trail is itself
// audited, once per page, with the range of ids it handed out.
func (s *Service) List(ctx context.Context, f Filter) (services.Page[Event], error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return services.Page[Event]{}, err
	}
	if p.Role != auth.RoleAdmin {
		return services.Page[Event]{}, fmt.Errorf("role %s may not read the audit trail: %w", p.Role, services.ErrForbidden)
	}
	var v services.Validator
	before := services.AfterID(&v, f.Page)
	v.Check(f.From == nil || f.To == nil || f.From.Before(*f.To), "to", "must be after from")
	if err := v.Err(); err != nil {
		return services.Page[Event]{}, err
	}
	var page services.Page[Event]
	err = services.WithTx(ctx, s.db, func(ctx context.Context, tx *gorm.DB) error {
		var rows []models.AuditEvent
		if err := narrow(tx.Where("departement = ?", p.Departement), f, before).
			Order("id DESC").Limit(f.Page.Limit + 1).Find(&rows).Error; err != nil {
			return fmt.Errorf("read the audit trail: %w", err)
		}
		items := make([]Event, len(rows))
		for i, r := range rows {
			items[i] = present(r)
		}
		page = services.PageOf(items, f.Page.Limit, func(e Event) []string { return []string{strconv.FormatInt(e.ID, 10)} })
		return audit.Record(ctx, tx, audit.ActionRead, resource, idRange(page.Items))
	})
	return page, err
}

// narrow applies the filter and the keyset position (ids below before; 0: from the newest).
func narrow(q *gorm.DB, f Filter, before int64) *gorm.DB {
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	for column, value := range map[string]string{"actor": f.Actor, "resource": f.Resource, "resource_id": f.ResourceID} {
		if value != "" {
			q = q.Where(column+" = ?", value)
		}
	}
	if f.From != nil {
		q = q.Where("occurred_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("occurred_at < ?", *f.To)
	}
	return q
}

// idRange names the events of a page in the trail: "oldest-newest", or "none".
func idRange(items []Event) string {
	if len(items) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d-%d", items[len(items)-1].ID, items[0].ID)
}

func present(r models.AuditEvent) Event {
	return Event{ID: r.ID, OccurredAt: r.OccurredAt, Actor: r.Actor, Role: r.Role, Action: r.Action,
		Resource: r.Resource, ResourceID: r.ResourceID, RequestID: r.RequestID}
}
