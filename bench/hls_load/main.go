// Command hls_load simulates LL-HLS listeners (RFC 8216bis) for bench/hls.py: each one is
// a goroutine doing what hls.js does in low-latency mode. It reads the media playlist once,
// starts playing PART-HOLD-BACK behind the live edge it saw, and then follows the stream
// with blocking playlist reloads (_HLS_msn / _HLS_part for the part after the last one
// listed) while a second goroutine fetches each newly listed part in order, as hls.js's
// playlist and fragment loaders run side by side (with -hint it also asks for the
// EXT-X-PRELOAD-HINT part at once, as Apple's players do).
//
// Playback model: a listener starts playing when the part holding its start position has
// arrived, then plays in real time; a part that arrives after the moment it is due to play
// is a stall, and playback waits for it (the delay is carried on, as a player rebuffers).
//
// Protocol on stdout, one JSON object a line: {"event":"measure_start"} once every listener
// has joined and settled, {"event":"measure_end"} after -measure seconds, then
// {"event":"result", ...} with the figures. Fetch times and part ages count inside the
// window; stalls count from each listener's start to the end of the window.
//
// Each listener keeps two keep-alive connections (one per loader, as a browser would), from
// source addresses spread over 127.0.0.0/8, and speaks HTTP/1.1 over them by hand: about
// 25 µs of CPU per request here against some 80 µs with net/http's client, which matters
// when the generator shares two cores with nginx and the origin. Standard library only:
// bench/hls.py builds it with `go build`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ---- figures shared by all listeners (lock-free counters and histograms) ----

// histogram of durations in 0.1 ms buckets up to 30 s (the rest in the last bucket).
type histogram struct {
	buckets [300001]atomic.Int64
	count   atomic.Int64
}

func (h *histogram) add(d time.Duration) {
	i := int64(d / (100 * time.Microsecond))
	if i < 0 {
		i = 0
	}
	if i >= int64(len(h.buckets)) {
		i = int64(len(h.buckets)) - 1
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
}

// quantile in milliseconds (nearest rank), NaN when empty.
func (h *histogram) quantile(q float64) float64 {
	n := h.count.Load()
	if n == 0 {
		return math.NaN()
	}
	rank := int64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return float64(i) / 10
		}
	}
	return float64(len(h.buckets)-1) / 10
}

func (h *histogram) min() float64 {
	for i := range h.buckets {
		if h.buckets[i].Load() > 0 {
			return float64(i) / 10
		}
	}
	return math.NaN()
}

func (h *histogram) max() float64 {
	for i := len(h.buckets) - 1; i >= 0; i-- {
		if h.buckets[i].Load() > 0 {
			return float64(i) / 10
		}
	}
	return math.NaN()
}

type counters struct {
	mu       sync.Mutex
	statuses map[string]int64 // "kind status" -> count, non-200 answers over the whole run
	errors   map[string]int64 // "kind error" -> transport errors over the whole run
}

// requests made in the window, by kind
var requests = map[string]*atomic.Int64{"playlist": {}, "reload": {}, "init": {}, "part": {}}

func count(kind string) {
	if measuring.Load() {
		requests[kind].Add(1)
	}
}

func (c *counters) status(kind string, code int) {
	c.mu.Lock()
	c.statuses[fmt.Sprintf("%s %d", kind, code)]++
	c.mu.Unlock()
}

func (c *counters) failure(kind string, err error) {
	text := err.Error()
	switch {
	case strings.Contains(text, "timeout") || strings.Contains(text, "deadline"):
		text = "timeout"
	case strings.Contains(text, "connection reset"):
		text = "connection reset"
	case strings.Contains(text, "connection refused"):
		text = "connection refused"
	case strings.Contains(text, "EOF"):
		text = "EOF"
	case strings.Contains(text, "too many open files"):
		text = "too many open files"
	case strings.Contains(text, "cannot assign requested address"):
		text = "no local address"
	}
	c.mu.Lock()
	c.errors[kind+" "+text]++
	c.mu.Unlock()
}

var (
	measuring     atomic.Bool // inside the measurement window
	windowOver    atomic.Bool // stalls after the window no longer count
	fetchTimes    histogram   // listed part: request -> body complete
	hintTimes     histogram   // hinted part (held by the origin until written)
	partAges      histogram   // part arrival - the moment its last sample was produced
	startups      histogram   // join -> playback starts
	stallTimes    histogram   // how long each stall lasted
	behindOrigin  histogram   // each playing listener's distance behind the origin, at the window's end
	stats         = counters{statuses: map[string]int64{}, errors: map[string]int64{}}
	stallEvents   atomic.Int64
	stallWindow   atomic.Int64 // stall events inside the window
	stalledEver   atomic.Int64 // listeners with at least one stall
	stalledWindow atomic.Int64 // listeners with at least one stall inside the window
	skippedParts  atomic.Int64 // parts given up on after retries
	joined        atomic.Int64
	playing       atomic.Int64
	bytesIn       atomic.Int64
	openConns     atomic.Int64
	peakConns     atomic.Int64
	dials         atomic.Int64
)

// ---- connections ----

// conn is one keep-alive HTTP/1.1 connection of a listener, spoken by hand: net/http's
// client costs several times the CPU per request (header maps, two goroutines per
// connection), and here the load generator shares two cores with what it measures. A
// listener has two, as hls.js's playlist and fragment loaders each keep one busy.
type conn struct {
	address string        // host:port
	host    string        // the Host header
	path    string        // the stream's path prefix: /v1/spaces/{id}/hls/
	local   net.Addr      // source address
	timeout time.Duration // per request
	c       net.Conn
	r       *bufio.Reader
	request []byte
	body    []byte
	stop    func() bool // unregisters the close-on-cancel hook
}

// dial (re)connects; a cancelled ctx closes the connection, which ends any read on it.
func (k *conn) dial(ctx context.Context) error {
	dialer := net.Dialer{Timeout: 10 * time.Second, LocalAddr: k.local, KeepAlive: -1}
	c, err := dialer.DialContext(ctx, "tcp", k.address)
	if err != nil {
		return err
	}
	dials.Add(1)
	if n := openConns.Add(1); n > peakConns.Load() {
		peakConns.Store(n) // racy max: close enough for a report
	}
	k.c = c
	if k.r == nil {
		k.r = bufio.NewReaderSize(c, 4096)
	} else {
		k.r.Reset(c)
	}
	k.stop = context.AfterFunc(ctx, func() { c.Close() })
	return nil
}

func (k *conn) close() {
	if k.c != nil {
		k.stop()
		k.c.Close()
		openConns.Add(-1)
		k.c = nil
	}
}

// get asks for name (under the stream's path, with its query) and reads the whole answer:
// status, body (kept when keep, or when not 200) and when the body was complete. A kept
// body is valid until the next get on this connection.
func (k *conn) get(ctx context.Context, kind, name string, keep bool) (int, []byte, time.Time, error) {
	count(kind)
	for attempt := 0; ; attempt++ {
		fresh := k.c == nil
		if fresh {
			if err := k.dial(ctx); err != nil {
				if ctx.Err() == nil {
					stats.failure(kind, err)
				}
				return 0, nil, time.Time{}, err
			}
		}
		code, body, done, err := k.exchange(name, keep)
		if err == nil {
			return code, body, done, nil
		}
		k.close()
		if ctx.Err() != nil {
			return 0, nil, time.Time{}, ctx.Err()
		}
		// a kept-alive connection the server closed meanwhile: once more on a new one
		if fresh || attempt > 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
			errors.Is(err, syscall.EPIPE)) {
			stats.failure(kind, err)
			return 0, nil, time.Time{}, err
		}
	}
}

func (k *conn) exchange(name string, keep bool) (int, []byte, time.Time, error) {
	k.request = append(append(append(append(append(k.request[:0], "GET "...), k.path...), name...),
		" HTTP/1.1\r\nHost: "...), k.host...)
	k.request = append(k.request, "\r\nUser-Agent: hls-load\r\n\r\n"...)
	if err := k.c.SetDeadline(time.Now().Add(k.timeout)); err != nil {
		return 0, nil, time.Time{}, err
	}
	if _, err := k.c.Write(k.request); err != nil {
		return 0, nil, time.Time{}, err
	}
	line, err := k.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, time.Time{}, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, time.Time{}, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = k.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, time.Time{}, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, time.Time{}, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	keep = keep || code != http.StatusOK
	k.body = k.body[:0]
	var read int
	switch {
	case chunked:
		for {
			line, err = k.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, time.Time{}, err
			}
			size, perr := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if perr != nil {
				return 0, nil, time.Time{}, perr
			}
			if size == 0 {
				for { // trailers, then the empty line
					if line, err = k.r.ReadSlice('\n'); err != nil || len(line) <= 2 {
						break
					}
				}
				break
			}
			if err = k.take(int(size), keep); err != nil {
				return 0, nil, time.Time{}, err
			}
			read += int(size)
			if _, err = k.r.Discard(2); err != nil {
				return 0, nil, time.Time{}, err
			}
		}
	case length >= 0:
		if err = k.take(length, keep); err != nil {
			return 0, nil, time.Time{}, err
		}
		read = length
	default: // no length: the body runs to the end of the connection
		closing = true
		rest, err := io.ReadAll(k.r)
		if err != nil {
			return 0, nil, time.Time{}, err
		}
		k.body, read = append(k.body, rest...), len(rest)
	}
	done := time.Now()
	bytesIn.Add(int64(read))
	if closing {
		k.close()
	}
	if code != http.StatusOK {
		stats.status(kindOfStatus(name), code)
	}
	return code, k.body, done, nil
}

func (k *conn) take(n int, keep bool) error {
	if !keep {
		_, err := k.r.Discard(n)
		return err
	}
	start := len(k.body)
	if cap(k.body) < start+n {
		grown := make([]byte, start, 2*(start+n))
		copy(grown, k.body)
		k.body = grown
	}
	k.body = k.body[:start+n]
	_, err := io.ReadFull(k.r, k.body[start:])
	return err
}

func kindOfStatus(name string) string {
	switch {
	case strings.HasPrefix(name, "audio.m3u8?"):
		return "reload"
	case strings.HasPrefix(name, "audio.m3u8"):
		return "playlist"
	case strings.HasPrefix(name, "part-"):
		return "part"
	case strings.HasPrefix(name, "init"):
		return "init"
	}
	return "other"
}

// ---- the media playlist ----

type part struct {
	msn, index int
	hinted     bool // asked for as the preload hint, before the playlist listed it
}

func (p part) name() string {
	return "part-" + strconv.Itoa(p.msn) + "." + strconv.Itoa(p.index) + ".m4s"
}

// playlist is what a listener needs of audio.m3u8; parse fills it in place (its parts
// slice is reused: one is parsed per reload, tens of thousands a second).
type playlist struct {
	mediaSequence int
	segments      int // complete segments listed
	parts         []part
	hint          part
	hasHint       bool
	partDuration  float64
	partsPerSeg   int
	holdBack      float64
	anchor        float64 // POSIX time of media time 0 (from EXT-X-PROGRAM-DATE-TIME)
	ended         bool
}

var (
	tagSequence = []byte("#EXT-X-MEDIA-SEQUENCE:")
	tagControl  = []byte("#EXT-X-SERVER-CONTROL:")
	tagDate     = []byte("#EXT-X-PROGRAM-DATE-TIME:")
	tagInf      = []byte("#EXTINF:")
	tagPart     = []byte("#EXT-X-PART:")
	tagHint     = []byte("#EXT-X-PRELOAD-HINT:")
	tagEnd      = []byte("#EXT-X-ENDLIST")
)

// attribute is the value of name= in a tag's attribute list (unquoted), or nil.
func attribute(line []byte, name string) []byte {
	for i := bytes.IndexByte(line, ':') + 1; i > 0 && i < len(line); {
		rest := line[i:]
		if bytes.HasPrefix(rest, []byte(name)) && len(rest) > len(name) && rest[len(name)] == '=' {
			value := rest[len(name)+1:]
			if len(value) > 0 && value[0] == '"' {
				if end := bytes.IndexByte(value[1:], '"'); end >= 0 {
					return value[1 : 1+end]
				}
				return nil
			}
			if end := bytes.IndexByte(value, ','); end >= 0 {
				return value[:end]
			}
			return value
		}
		// on to the next attribute, past any quoted value
		quoted, j := false, 0
		for ; j < len(rest); j++ {
			if rest[j] == '"' {
				quoted = !quoted
			} else if rest[j] == ',' && !quoted {
				break
			}
		}
		i += j + 1
	}
	return nil
}

func number(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func decimal(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	return v, err == nil
}

// partOf reads part-{msn}.{i}.m4s
func partOf(uri []byte) (part, bool) {
	if !bytes.HasPrefix(uri, []byte("part-")) || !bytes.HasSuffix(uri, []byte(".m4s")) {
		return part{}, false
	}
	m, i, ok := bytes.Cut(uri[len("part-"):len(uri)-len(".m4s")], []byte("."))
	msn, ok1 := number(m)
	index, ok2 := number(i)
	if !ok || !ok1 || !ok2 {
		return part{}, false
	}
	return part{msn: msn, index: index}, true
}

func (p *playlist) parse(body []byte) error {
	*p = playlist{parts: p.parts[:0], partsPerSeg: 4, holdBack: math.NaN(), anchor: math.NaN()}
	msn, segDuration, pdtMSN, pdt := 0, 0.0, 0, math.NaN()
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case len(line) == 0:
		case line[0] != '#':
			p.segments++
			msn++
		case bytes.HasPrefix(line, tagPart):
			if p.partDuration == 0 {
				p.partDuration, _ = decimal(attribute(line, "DURATION"))
			}
			if found, ok := partOf(attribute(line, "URI")); ok {
				p.parts = append(p.parts, found)
			}
		case bytes.HasPrefix(line, tagInf):
			value, _, _ := bytes.Cut(line[len(tagInf):], []byte(","))
			segDuration, _ = decimal(value)
		case bytes.HasPrefix(line, tagDate):
			if math.IsNaN(pdt) {
				if t, err := time.Parse(time.RFC3339Nano, string(line[len(tagDate):])); err == nil {
					pdt, pdtMSN = float64(t.UnixNano())/1e9, msn
				}
			}
		case bytes.HasPrefix(line, tagSequence):
			p.mediaSequence, _ = number(line[len(tagSequence):])
			msn = p.mediaSequence
		case bytes.HasPrefix(line, tagHint):
			if found, ok := partOf(attribute(line, "URI")); ok {
				found.hinted = true
				p.hint, p.hasHint = found, true
			}
		case bytes.HasPrefix(line, tagControl):
			if v, ok := decimal(attribute(line, "PART-HOLD-BACK")); ok {
				p.holdBack = v
			}
		case bytes.HasPrefix(line, tagEnd):
			p.ended = true
		}
	}
	if p.partDuration == 0 {
		return fmt.Errorf("no EXT-X-PART in the playlist")
	}
	if segDuration > 0 {
		p.partsPerSeg = int(math.Round(segDuration / p.partDuration))
	}
	if !math.IsNaN(pdt) {
		p.anchor = pdt - float64(pdtMSN*p.partsPerSeg)*p.partDuration
	}
	return nil
}

// next is the part a blocking reload asks for: the one after the last listed, or part 0
// of the next segment once the last listed part's segment is complete (as
// tests/hls_client.MediaPlaylist.next_part).
func (p *playlist) next() (int, int) {
	end := p.mediaSequence + p.segments
	if len(p.parts) == 0 {
		return end, 0
	}
	last := p.parts[len(p.parts)-1]
	if last.msn < end {
		return end, 0
	}
	return last.msn, last.index + 1
}

// ---- one listener ----

type listener struct {
	id       int
	pl       *conn // the playlist loader's connection
	media    *conn // the fragment loader's
	hint     bool
	holdBack float64
	pps      int
	pd       float64
	anchor   float64
	stalled  bool
	inWindow bool
	// how far playback is behind the origin's media timeline (EXT-X-PROGRAM-DATE-TIME):
	// the moment a sample plays less the moment it was due at the origin, in ns (0: not
	// playing yet)
	behind atomic.Int64
}

func (l *listener) global(p part) int { return p.msn*l.pps + p.index }

// loadPlaylist retries until it has read the playlist into p (false: ctx ended), as a
// player keeps trying.
func (l *listener) loadPlaylist(ctx context.Context, p *playlist, kind, name string) bool {
	for ctx.Err() == nil {
		code, body, _, err := l.pl.get(ctx, kind, name, true)
		if err == nil && code == http.StatusOK {
			if p.parse(body) == nil {
				return true
			}
			stats.status(kind+" unparsable", code)
		}
		wait := time.Second
		if code == http.StatusServiceUnavailable {
			wait = 100 * time.Millisecond // held too long: ask again at once
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return false
}

func (l *listener) run(ctx context.Context) {
	joinedAt := time.Now()
	first := &playlist{}
	if !l.loadPlaylist(ctx, first, "playlist", "audio.m3u8") {
		return
	}
	joined.Add(1)
	l.pps, l.pd, l.anchor = first.partsPerSeg, first.partDuration, first.anchor
	if l.holdBack == 0 {
		l.holdBack = first.holdBack
	}
	if math.IsNaN(l.holdBack) {
		l.holdBack = 3 * l.pd
	}
	for ctx.Err() == nil { // the init section, once
		code, _, _, err := l.media.get(ctx, "init", "init.mp4", false)
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	if len(first.parts) == 0 {
		return
	}
	edge := float64(l.global(first.parts[len(first.parts)-1])+1) * l.pd
	start := edge - l.holdBack // media time playback starts from
	startPart := int(math.Floor(start/l.pd + 1e-9))

	queue := make(chan part, 64)
	var fetcher sync.WaitGroup
	fetcher.Add(1)
	go func() {
		defer fetcher.Done()
		l.fetch(ctx, queue, joinedAt, start)
	}()
	queued := startPart - 1
	enqueue := func(p *playlist) {
		candidates := p.parts
		if l.hint && p.hasHint {
			candidates = append(candidates, p.hint) // p.parts is parsed anew each time
		}
		for _, c := range candidates {
			if g := l.global(c); g > queued {
				queued = g
				select {
				case queue <- c:
				case <-ctx.Done():
					return
				}
			}
		}
	}
	enqueue(first)
	current := first
	name := make([]byte, 0, 64)
	for ctx.Err() == nil && !current.ended {
		msn, idx := current.next()
		name = append(name[:0], "audio.m3u8?_HLS_msn="...)
		name = strconv.AppendInt(name, int64(msn), 10)
		name = append(name, "&_HLS_part="...)
		name = strconv.AppendInt(name, int64(idx), 10)
		if !l.loadPlaylist(ctx, current, "reload", string(name)) {
			break
		}
		enqueue(current)
	}
	close(queue)
	fetcher.Wait()
}

// fetch gets the parts in order and plays them: the first one's arrival starts playback.
func (l *listener) fetch(ctx context.Context, queue <-chan part, joinedAt time.Time, start float64) {
	var playStart time.Time
	var shift time.Duration // rebuffering so far
	for p := range queue {
		g := l.global(p)
		var arrived, asked time.Time
		ok := false
		for try := 0; try < 4 && ctx.Err() == nil; try++ {
			asked = time.Now()
			code, _, done, err := l.media.get(ctx, "part", p.name(), false)
			if err == nil && code == http.StatusOK {
				arrived, ok = done, true
				if measuring.Load() {
					elapsed := done.Sub(asked)
					produced := l.anchor + float64(g+1)*l.pd
					if !math.IsNaN(produced) {
						partAges.add(time.Duration((float64(done.UnixNano())/1e9 - produced) * 1e9))
					}
					if p.hinted {
						hintTimes.add(elapsed)
					} else {
						fetchTimes.add(elapsed)
					}
				}
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !ok {
			skippedParts.Add(1)
			l.stall(0, stallExample{Part: p.name(), SinceJoinS: time.Since(joinedAt).Seconds(), Skipped: true})
			continue
		}
		if playStart.IsZero() {
			// playback begins once the part holding the start position is here
			playStart = arrived
			playing.Add(1)
			startups.add(arrived.Sub(joinedAt))
		} else {
			due := playStart.Add(time.Duration((float64(g)*l.pd - start) * float64(time.Second))).Add(shift)
			if late := arrived.Sub(due); late > 0 {
				shift += late
				l.stall(late, stallExample{
					Part:       p.name(),
					SinceJoinS: math.Round(arrived.Sub(joinedAt).Seconds()*1000) / 1000,
					FetchMS:    float64(arrived.Sub(asked)) / 1e6,
					AgeMS:      (float64(arrived.UnixNano())/1e9 - l.anchor - float64(g+1)*l.pd) * 1000,
					BehindMS:   (float64(playStart.UnixNano())/1e9 - l.anchor - start + shift.Seconds() - late.Seconds()) * 1000,
				})
			}
		}
		if !math.IsNaN(l.anchor) {
			behind := float64(playStart.UnixNano())/1e9 - l.anchor - start
			l.behind.Store(int64(behind*1e9) + int64(shift))
		}
	}
}

// stallExample says where a stall came from (the first few are reported).
type stallExample struct {
	Listener   int     `json:"listener"`
	Part       string  `json:"part"`
	LateMS     float64 `json:"late_ms"`
	SinceJoinS float64 `json:"since_join_s"`
	FetchMS    float64 `json:"fetch_ms"`  // the part's request -> body
	AgeMS      float64 `json:"age_ms"`    // arrival - the part's last sample at the origin
	BehindMS   float64 `json:"behind_ms"` // how far this listener played behind the origin
	InWindow   bool    `json:"in_window"`
	Skipped    bool    `json:"skipped,omitempty"`
}

var (
	examplesMu sync.Mutex
	examples   []stallExample
)

func (l *listener) stall(late time.Duration, example stallExample) {
	if windowOver.Load() {
		return
	}
	examplesMu.Lock()
	if len(examples) < 12 {
		example.Listener, example.LateMS, example.InWindow = l.id, float64(late)/1e6, measuring.Load()
		examples = append(examples, example)
	}
	examplesMu.Unlock()
	stallEvents.Add(1)
	stallTimes.add(late)
	if !l.stalled {
		l.stalled = true
		stalledEver.Add(1)
	}
	if measuring.Load() {
		stallWindow.Add(1)
		if !l.inWindow {
			l.inWindow = true
			stalledWindow.Add(1)
		}
	}
}

// ---- main ----

func emit(v any) {
	line, _ := json.Marshal(v)
	fmt.Println(string(line))
}

func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return math.Round(v*10) / 10
}

func main() {
	base := flag.String("base", "", "the stream's base URL: http://host:port/v1/spaces/{id}/hls")
	count := flag.Int("listeners", 100, "simulated listeners")
	ramp := flag.Float64("ramp", 5, "seconds over which the listeners join")
	settle := flag.Float64("settle", 3, "seconds after the last join before measuring")
	measure := flag.Float64("measure", 30, "seconds of measurement")
	holdBack := flag.Float64("hold-back", 0, "seconds behind the live edge to start (0: the playlist's PART-HOLD-BACK)")
	hint := flag.Bool("hint", false, "also fetch the EXT-X-PRELOAD-HINT part at once (hls.js does not)")
	sources := flag.Int("sources", 200, "source addresses of 127.0.0.0/8 to spread connections over")
	timeout := flag.Duration("timeout", 15*time.Second, "per request")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "-base is required")
		os.Exit(2)
	}
	stream, err := url.Parse(strings.TrimRight(*base, "/") + "/")
	if err != nil || stream.Scheme != "http" {
		fmt.Fprintln(os.Stderr, "-base must be an http:// URL")
		os.Exit(2)
	}
	newConn := func(local net.Addr) *conn {
		return &conn{address: stream.Host, host: stream.Host, path: stream.EscapedPath(), local: local,
			timeout: *timeout}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	all := make([]*listener, 0, *count)
	began := time.Now()
	for i := 0; i < *count; i++ {
		at := began.Add(time.Duration(float64(i) / float64(*count) * *ramp * float64(time.Second)))
		time.Sleep(time.Until(at))
		// each listener's connections come from one of -sources addresses of 127.0.0.0/8, so
		// that tens of thousands of them do not run out of ports
		var local net.Addr
		if *sources > 1 {
			k := i % *sources
			local = &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+k/250%254), byte(1+k%250))}
		}
		l := &listener{id: i, pl: newConn(local), media: newConn(local), hint: *hint, holdBack: *holdBack}
		all = append(all, l)
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run(ctx)
		}()
	}
	time.Sleep(time.Duration(*settle * float64(time.Second)))
	measuring.Store(true)
	windowStart := time.Now()
	emit(map[string]any{"event": "measure_start", "joined": joined.Load(), "playing": playing.Load()})
	time.Sleep(time.Duration(*measure * float64(time.Second)))
	measuring.Store(false)
	windowOver.Store(true)
	window := time.Since(windowStart).Seconds()
	for _, l := range all {
		if behind := l.behind.Load(); behind != 0 {
			behindOrigin.add(time.Duration(behind))
		}
	}
	emit(map[string]any{"event": "measure_end"})
	cancel()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
	}

	made := map[string]int64{}
	var total int64
	for k, v := range requests {
		made[k] = v.Load()
		total += v.Load()
	}
	stats.mu.Lock()
	statuses := map[string]int64{}
	for k, v := range stats.statuses {
		statuses[k] = v
	}
	failures := map[string]int64{}
	for k, v := range stats.errors {
		failures[k] = v
	}
	stats.mu.Unlock()
	examplesMu.Lock()
	stallList := append([]stallExample{}, examples...)
	examplesMu.Unlock()
	emit(map[string]any{
		"event":                 "result",
		"listeners":             *count,
		"joined":                joined.Load(),
		"playing":               playing.Load(),
		"window_s":              math.Round(window*100) / 100,
		"stalled":               stalledEver.Load(),
		"stalled_in_window":     stalledWindow.Load(),
		"stall_events":          stallEvents.Load(),
		"stall_events_window":   stallWindow.Load(),
		"stall_p50_ms":          finite(stallTimes.quantile(0.50)),
		"stall_max_ms":          finite(stallTimes.max()),
		"skipped_parts":         skippedParts.Load(),
		"stall_examples":        stallList,
		"part_fetches":          fetchTimes.count.Load(),
		"part_fetch_p50_ms":     finite(fetchTimes.quantile(0.50)),
		"part_fetch_p99_ms":     finite(fetchTimes.quantile(0.99)),
		"part_fetch_max_ms":     finite(fetchTimes.max()),
		"hinted_fetches":        hintTimes.count.Load(),
		"hinted_fetch_p50_ms":   finite(hintTimes.quantile(0.50)),
		"hinted_fetch_p99_ms":   finite(hintTimes.quantile(0.99)),
		"part_age_p50_ms":       finite(partAges.quantile(0.50)),
		"part_age_p99_ms":       finite(partAges.quantile(0.99)),
		"behind_origin_p50_ms":  finite(behindOrigin.quantile(0.50)),
		"behind_origin_p99_ms":  finite(behindOrigin.quantile(0.99)),
		"behind_origin_max_ms":  finite(behindOrigin.max()),
		"behind_origin_min_ms":  finite(behindOrigin.min()),
		"startup_p50_ms":        finite(startups.quantile(0.50)),
		"startup_p99_ms":        finite(startups.quantile(0.99)),
		"requests":              total,
		"requests_per_second":   math.Round(float64(total) / window),
		"requests_by_kind":      made,
		"errors_by_status":      statuses,
		"transport_errors":      failures,
		"bytes":                 bytesIn.Load(),
		"connections_opened":    dials.Load(),
		"connections_peak_open": peakConns.Load(),
	})
}
