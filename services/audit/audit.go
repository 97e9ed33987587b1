// Package audit writes the append-only audit trail: one row per write and per read of a
// nominative record, in the same transaction as the change it records.
package audit

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services/auth"
)

// Actions recorded in the trail.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionRead   = "read"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id that audit rows and logs quote.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RecordMany appends one audit row per resource id, in one statement: the trail of a list
// read of nominative records.
func RecordMany(ctx context.Context, tx *gorm.DB, action, resource string, resourceIDs []string) error {
	if len(resourceIDs) == 0 {
		return nil
	}
	ev, err := Event(ctx, action, resource, "")
	if err != nil {
		return err
	}
	args := Values(ev)
	args[ResourceIDIndex] = resourceIDs
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, insertMany, args...); err != nil {
		return fmt.Errorf("audit %s of %d %s rows: %w", action, len(resourceIDs), resource, err)
	}
	return nil
}

// Event is the audit row of action on resource resourceID by the principal in ctx, in the
// request ctx carries, as Record writes it: for a statement that writes it along with the
// change it records (see Columns).
func Event(ctx context.Context, action, resource, resourceID string) (models.AuditEvent, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return models.AuditEvent{}, errors.New("audit: no principal in context")
	}
	return models.AuditEvent{
		Departement: p.Departement,
		Actor:       p.Subject,
		Role:        string(p.Role),
		Action:      action,
		Resource:    resource,
		ResourceID:  resourceID,
		RequestID:   RequestID(ctx),
	}, nil
}

// Columns are the columns an INSERT INTO audit_events sets, in the order of Values: the
// others (id, occurred_at) take their defaults.
const Columns = "departement, actor, role, action, resource, resource_id, request_id"

// insertOne writes one audit row, insertMany one per element of the text array $6, in array
// order. Both go to the transaction's connection as they are, without gorm's statement
// building: every request that touches a nominative record writes one.
const (
	insertOne  = "INSERT INTO audit_events (" + Columns + ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
	insertMany = "INSERT INTO audit_events (" + Columns + ") SELECT $1, $2, $3, $4, $5, unnest($6::text[]), $7"
)

// ActionIndex and ResourceIDIndex are the places of the action and the resource id in Columns
// and Values: what differs between the rows of one principal's changes.
const (
	ActionIndex     = 3
	ResourceIDIndex = 5
)

// Values are the values of ev for Columns, in order.
func Values(ev models.AuditEvent) []any {
	return []any{ev.Departement, ev.Actor, ev.Role, ev.Action, ev.Resource, ev.ResourceID, ev.RequestID}
}

// Record appends one audit row for the principal in ctx. Call it with the transaction that
// makes the change, so that the change and its trail commit or roll back together.
func Record(ctx context.Context, tx *gorm.DB, action, resource, resourceID string) error {
	ev, err := Event(ctx, action, resource, resourceID)
	if err != nil {
		return err
	}
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, insertOne, Values(ev)...); err != nil {
		return fmt.Errorf("audit %s %s %s: %w", action, resource, resourceID, err)
	}
	return nil
}
