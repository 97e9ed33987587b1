package main

import (
	"encoding/json"
	"sync"
)

// write is one write request the load sent, and what became of it. Its X-Request-Id (which
// the server echoes and writes into the audit rows of the change) and, for a POST, its
// Idempotency-Key (kept with the answer in the same transaction) identify it in the database.
type write struct {
	kind      string
	requestID string
	key       string // the Idempotency-Key of a POST; "" for a PATCH
	target    int64  // what the write is about: the convocation an attendance is recorded on
	value     string // the attendance recorded
	status    int    // the HTTP status of the answer; 0: no answer (a transport error)
	entityID  int64  // the id the 2xx answer names
}

// acked tells whether the server acknowledged the write with a 2xx answer.
func (w *write) acked() bool { return w.status >= 200 && w.status < 300 }

// ledger records every write sent and its answer.
type ledger struct {
	mu     sync.Mutex
	writes map[string]*write // by request id
	order  []*write
}

func newLedger() *ledger { return &ledger{writes: map[string]*write{}} }

// sent records w before it leaves.
func (l *ledger) sent(w *write) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes[w.requestID] = w
	l.order = append(l.order, w)
}

// answered records the answer to the write with requestID, if it is one, and returns it.
func (l *ledger) answered(requestID string, status int, body []byte) *write {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.writes[requestID]
	if !ok {
		return nil
	}
	w.status = status
	if w.acked() {
		var entity struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(body, &entity) == nil {
			w.entityID = entity.ID
		}
	}
	return w
}

// all is every write sent, in the order they were sent.
func (l *ledger) all() []*write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*write(nil), l.order...)
}
