package diffing

import "sync"

// runOrdered runs work(w, i) for i in [0, n) on up to workers goroutines
// (w is the worker's number, for its scratch buffers) and calls merge(i,
// result) in increasing i, from the calling goroutine. At most 2×workers
// results wait to be merged, so memory stays bounded whatever n is.
// The first error in chunk order is returned (so errors, like results,
// do not depend on scheduling); work on later chunks is abandoned.
func runOrdered[P any](n, workers int, work func(w, i int) (P, error), merge func(i int, p P)) error {
	if workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			p, err := safeWork(work, 0, i)
			if err != nil {
				return err
			}
			merge(i, p)
		}
		return nil
	}
	type result struct {
		i   int
		p   P
		err error
	}
	jobs := make(chan int)
	results := make(chan result, workers)
	window := make(chan struct{}, 2*workers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p, err := safeWork(work, w, i)
				results <- result{i, p, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case window <- struct{}{}:
			case <-done:
				return
			}
			select {
			case jobs <- i:
			case <-done:
				return
			}
		}
	}()

	pending := make(map[int]result, 2*workers)
	var err error
	for next := 0; next < n && err == nil; {
		r := <-results
		pending[r.i] = r
		for {
			q, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if q.err != nil {
				err = q.err
				break
			}
			merge(next, q.p)
			next++
			<-window
		}
	}
	close(done)
	go func() {
		wg.Wait()
		close(results)
	}()
	for range results {
	}
	return err
}
