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
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return errors.New("audit: no principal in context")
	}
	events := make([]models.AuditEvent, len(resourceIDs))
	for i, id := range resourceIDs {
		events[i] = models.AuditEvent{Departement: p.Departement, Actor: p.Subject, Role: string(p.Role),
			Action: action, Resource: resource, ResourceID: id, RequestID: RequestID(ctx)}
	}
	if err := tx.Omit("ID", "OccurredAt").Create(&events).Error; err != nil {
		return fmt.Errorf("audit %s of %d %s rows: %w", action, len(resourceIDs), resource, err)
	}
	return nil
}

// Record appends one audit row for the principal in ctx. Call it with the transaction that
// makes the change, so that the change and its trail commit or roll back together.
func Record(ctx context.Context, tx *gorm.DB, action, resource, resourceID string) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return errors.New("audit: no principal in context")
	}
	ev := models.AuditEvent{
		Departement: p.Departement,
		Actor:       p.Subject,
		Role:        string(p.Role),
		Action:      action,
		Resource:    resource,
		ResourceID:  resourceID,
		RequestID:   RequestID(ctx),
	}
	if err := tx.Omit("ID", "OccurredAt").Create(&ev).Error; err != nil {
		return fmt.Errorf("audit %s %s %s: %w", action, resource, resourceID, err)
	}
	return nil
}
