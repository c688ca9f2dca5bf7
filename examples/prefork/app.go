package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// app holds the handles to the tables the HTTP handlers use.
type app struct {
	centre   *cyberdb.Dict // "content": the greeting served at /
	counters *cyberdb.Dict // "hits": the number of GET /hits
	pid      string
}

// newApp opens the tables, creating and seeding them if the store is new.
// Creation is atomic, so when all workers start at once only one seeds.
func newApp(ctx context.Context, db *cyberdb.DB) (*app, error) {
	centre, err := db.EnsureDict(ctx, "centre", map[string]any{"content": "Hello CyberDB!"})
	if err != nil {
		return nil, err
	}
	counters, err := db.EnsureDict(ctx, "counters")
	if err != nil {
		return nil, err
	}
	return &app{centre: centre, counters: counters, pid: strconv.Itoa(os.Getpid())}, nil
}

// routes returns the HTTP handler of a worker.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.index)
	mux.HandleFunc("GET /hits", a.hits)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Worker-Pid", a.pid)
		mux.ServeHTTP(w, r)
	})
}

// index answers the greeting stored in centre["content"].
func (a *app) index(w http.ResponseWriter, r *http.Request) {
	var content string
	if _, err := a.centre.Get(r.Context(), "content", &content); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Code    int    `json:"code"`
		Content string `json:"content"`
	}{1, content})
}

// hits counts the request in the shared counter and answers its value;
// with ?peek=1 it only reads it.
func (a *app) hits(w http.ResponseWriter, r *http.Request) {
	n, err := a.countHit(r)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Code int   `json:"code"`
		Hits int64 `json:"hits"`
	}{1, n})
}

// countHit increments the counter atomically, across all workers, unless
// the request only peeks at it.
func (a *app) countHit(r *http.Request) (int64, error) {
	if r.URL.Query().Get("peek") == "" {
		return a.counters.Incr(r.Context(), "hits", 1)
	}
	var n int64
	_, err := a.counters.Get(r.Context(), "hits", &n)
	return n, err
}

// fail logs err and answers it as a JSON error.
func fail(w http.ResponseWriter, err error) {
	slog.Error("prefork: request failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, struct {
		Code  int    `json:"code"`
		Error string `json:"error"`
	}{0, err.Error()})
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
