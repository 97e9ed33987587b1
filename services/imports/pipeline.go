package imports

import (
	"io"
	"sync"
)

// sizes are how a pipeline cuts a file.
type sizes struct {
	// chunkRows is how many consecutive rows a worker checks at a time: enough to make the
	// hand-offs rare, few enough to keep every worker busy on a small file.
	chunkRows int
	// batchRows is how many valid rows go to the database at a time: the database writes
	// one batch while the next ones are being read and checked.
	batchRows int
}

var defaultSizes = sizes{chunkRows: 256, batchRows: 10_000}

// batchesAhead is how many batches may wait for the database.
const batchesAhead = 2

// chunk is a run of consecutive rows of the file, checked by one worker; or, when err is
// set, the end of a malformed file.
type chunk struct {
	lines  []int    // the physical line of each row
	cells  []string // the rows' cells, width by width
	rows   []checked
	tuples []byte        // the binary COPY tuples of the valid rows, see checked.tuple
	done   chan struct{} // closed when rows and tuples are filled
	err    error         // the refusal of the file: reading stopped here
}

// batch is a run of valid rows, in file order: the new beneficiaries, and the rows of
// recorded ones.
type batch struct {
	inserts, changes *copyStream
}

func newBatch() *batch {
	return &batch{inserts: newCopyStream(), changes: newCopyStream()}
}

func (b *batch) rows() int { return b.inserts.rows + b.changes.rows }

// pipeline reads the rows of a file in order, has them checked by parallel workers, passes
// them in file order through a sink, and hands out the valid rows in batches. The reading
// and the sink are sequential, so line numbers and "the first line wins" hold; only the
// checks (conversions, rules, NIR hash and encryption) run in parallel.
type pipeline struct {
	order   chan *chunk // every chunk, in file order, as soon as it is read
	work    chan *chunk
	batches chan *batch
	stop    chan struct{}
	wg      sync.WaitGroup
	sizes   sizes
	sink    *sink // read it once batches is closed
}

// startPipeline starts the reader, the workers and the sink; check fills a chunk's rows and
// tuples, each worker with its own (check need not be safe for concurrent use). Take the
// batches until the channel closes, then read sink; call close in any case.
func startPipeline(f *flux, workers int, size sizes, s *sink, newCheck func() func(*chunk)) *pipeline {
	p := &pipeline{order: make(chan *chunk, 2*workers), work: make(chan *chunk, workers),
		batches: make(chan *batch, batchesAhead), stop: make(chan struct{}), sizes: size, sink: s}
	p.wg.Add(2 + workers)
	go p.read(f)
	for range workers {
		go p.check(newCheck())
	}
	go p.collect()
	return p
}

// read cuts the file into chunks and sends each to the workers and, in order, to collect.
func (p *pipeline) read(f *flux) {
	defer p.wg.Done()
	defer close(p.work)
	defer close(p.order)
	for {
		c := &chunk{lines: make([]int, 0, p.sizes.chunkRows), cells: make([]string, 0, p.sizes.chunkRows*f.width),
			done: make(chan struct{})}
		for len(c.lines) < p.sizes.chunkRows {
			line, rec, err := f.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				refused := &chunk{err: err, done: make(chan struct{})}
				close(refused.done)
				sendUnlessStopped(p.stop, p.order, refused)
				return
			}
			c.lines = append(c.lines, line)
			c.cells = append(c.cells, rec...)
		}
		if len(c.lines) == 0 || !sendUnlessStopped(p.stop, p.order, c) || !sendUnlessStopped(p.stop, p.work, c) {
			return
		}
	}
}

// sendUnlessStopped sends v on to, unless stop closes first.
func sendUnlessStopped[T any](stop <-chan struct{}, to chan<- T, v T) bool {
	select {
	case to <- v:
		return true
	case <-stop:
		return false
	}
}

func (p *pipeline) check(fn func(*chunk)) {
	defer p.wg.Done()
	for {
		select {
		case c, ok := <-p.work:
			if !ok {
				return
			}
			fn(c)
			close(c.done)
		case <-p.stop:
			return
		}
	}
}

// collect takes the checked chunks in file order through the sink and cuts the valid rows
// into batches, the first one smaller, so that the database starts early. A malformed file
// sends no further batch.
func (p *pipeline) collect() {
	defer p.wg.Done()
	defer close(p.batches)
	b, limit := newBatch(), max(1, p.sizes.batchRows/8)
	for {
		c, ok := p.next()
		if !ok {
			break
		}
		if c.err != nil {
			p.sink.refusal = c.err
			return
		}
		p.sink.take(c, b)
		if b.rows() >= limit {
			if !sendUnlessStopped(p.stop, p.batches, b) {
				return
			}
			b, limit = newBatch(), p.sizes.batchRows
		}
	}
	if b.rows() > 0 {
		sendUnlessStopped(p.stop, p.batches, b)
	}
}

// next returns the next checked chunk in file order; false after the last one or once
// stopped.
func (p *pipeline) next() (*chunk, bool) {
	select {
	case c, ok := <-p.order:
		if !ok {
			return nil, false
		}
		select {
		case <-c.done:
			return c, true
		case <-p.stop:
			return nil, false
		}
	case <-p.stop:
		return nil, false
	}
}

// close stops the goroutines and waits for them.
func (p *pipeline) close() {
	close(p.stop)
	p.wg.Wait()
}
