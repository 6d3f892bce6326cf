// checkpoint_check verifies what parley's fixture writer (checkpoint_fixture.cc) produced,
// with an implementation parley does not control: the Go module mirror's own
// golang.org/x/mod/sumdb/note (signed notes, Ed25519 keys, key IDs) and sumdb/tlog (RFC 6962
// tree hashes, inclusion and consistency proofs), plus the Go standard library for the
// cosignature (x/mod 0.7.0 does not know key type 0x04).
//
// Usage: checkpoint_check DIR. Prints one line per check; exits 1 if any fails.
//
// DIR holds:
//
//	log.vkey              the log's verifier key, NAME+KEYID+base64(0x01 || key)
//	witness.vkey          the witness's verifier key, NAME+KEYID+base64(0x04 || key)
//	checkpoint            the latest checkpoint, signed by the log and cosigned by the witness
//	entries               the log's entries, one base64 line each, in order
//	inclusion-N           "index N\n" and the audit path of entry N, one base64 hash a line
//	add-checkpoint-M      a tlog-witness add-checkpoint body from size M to the checkpoint
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var failures int

func check(what string, err error) {
	if err != nil {
		failures++
		fmt.Printf("FAIL %s: %v\n", what, err)
		return
	}
	fmt.Printf("ok   %s\n", what)
}

func read(dir, name string) []byte {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		fmt.Printf("FAIL reading %s: %v\n", name, err)
		os.Exit(1)
	}
	return data
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// parseCheckpoint reads the three lines of a tlog-checkpoint note text.
func parseCheckpoint(text string) (checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return checkpoint{}, errors.New("fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("bad tree size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("bad root hash %q", lines[2])
	}
	return checkpoint{lines[0], size, root}, nil
}

// openCheckpoint verifies a signed checkpoint with the log's key and parses it.
func openCheckpoint(msg []byte, log note.Verifier) (*note.Note, checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(log))
	if err != nil {
		return nil, checkpoint{}, err
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, checkpoint{}, err
	}
	if c.origin != log.Name() {
		return nil, checkpoint{}, fmt.Errorf("origin %q is not the key name %q", c.origin, log.Name())
	}
	return n, c, nil
}

// tree keeps the stored hashes of every entry, as sumdb/tlog lays them out.
type tree struct {
	hashes []tlog.Hash
}

func (t *tree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

func readEntries(data []byte) ([][]byte, *tree, error) {
	var entries [][]byte
	t := &tree{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		entry, err := base64.StdEncoding.DecodeString(scanner.Text())
		if err != nil {
			return nil, nil, err
		}
		stored, err := tlog.StoredHashes(int64(len(entries)), entry, t)
		if err != nil {
			return nil, nil, err
		}
		t.hashes = append(t.hashes, stored...)
		entries = append(entries, entry)
	}
	return entries, t, scanner.Err()
}

func parseHashes(lines []string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, line := range lines {
		h, err := tlog.ParseHash(line)
		if err != nil {
			return nil, fmt.Errorf("bad hash line %q", line)
		}
		out = append(out, h)
	}
	return out, nil
}

func checkInclusion(data []byte, c checkpoint, entries [][]byte) error {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[0], "index ") || index >= int64(len(entries)) {
		return fmt.Errorf("bad index line %q", lines[0])
	}
	proof, err := parseHashes(lines[1:])
	if err != nil {
		return err
	}
	return tlog.CheckRecord(proof, c.size, c.root, index, tlog.RecordHash(entries[index]))
}

// checkAddCheckpoint reads a tlog-witness request: "old M", proof lines, "", the checkpoint.
func checkAddCheckpoint(data []byte, log note.Verifier, c checkpoint, t *tree) error {
	head, msg, found := bytes.Cut(data, []byte("\n\n"))
	if !found {
		return errors.New("no empty line")
	}
	lines := strings.Split(string(head), "\n")
	old, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "old "), 10, 64)
	if err != nil || !strings.HasPrefix(lines[0], "old ") {
		return fmt.Errorf("bad old size line %q", lines[0])
	}
	proof, err := parseHashes(lines[1:])
	if err != nil {
		return err
	}
	_, newer, err := openCheckpoint(msg, log)
	if err != nil {
		return fmt.Errorf("its checkpoint: %v", err)
	}
	if newer != c {
		return errors.New("its checkpoint is not the latest one")
	}
	oldRoot, err := tlog.TreeHash(old, t) // the old root from the entries themselves
	if err != nil {
		return err
	}
	return tlog.CheckTree(proof, newer.size, newer.root, old, oldRoot)
}

// checkCosignature verifies a cosignature/v1 (key type 0x04) line of the checkpoint by hand.
func checkCosignature(vkey string, n *note.Note) error {
	name, rest, _ := strings.Cut(vkey, "+")
	idHex, keyB64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return errors.New("the witness key is not base64 of 0x04 and 32 bytes")
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), key...))
	id := binary.BigEndian.Uint32(sum[:4])
	if fmt.Sprintf("%08x", id) != idHex {
		return fmt.Errorf("key ID %s, computed %08x", idHex, id)
	}
	for _, sig := range n.UnverifiedSigs {
		if sig.Name != name || sig.Hash != id {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || len(raw) != 4+8+64 {
			return errors.New("a cosignature must be 4 + 8 + 64 bytes")
		}
		time := binary.BigEndian.Uint64(raw[4:12])
		msg := fmt.Sprintf("cosignature/v1\ntime %d\n%s", time, n.Text)
		if !ed25519.Verify(ed25519.PublicKey(key[1:]), []byte(msg), raw[12:]) {
			return errors.New("the cosignature does not verify")
		}
		return nil
	}
	return errors.New("no cosignature by the witness key")
}

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: checkpoint_check DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	log, err := note.NewVerifier(strings.TrimSpace(string(read(dir, "log.vkey"))))
	check("log verifier key (name, key ID, type 0x01)", err)
	if err != nil {
		os.Exit(1)
	}
	n, c, err := openCheckpoint(read(dir, "checkpoint"), log)
	check("checkpoint signature by the log key, origin = key name", err)
	if err != nil {
		os.Exit(1)
	}
	entries, t, err := readEntries(read(dir, "entries"))
	check("entries", err)
	if err == nil && int64(len(entries)) != c.size {
		check("tree size", fmt.Errorf("%d entries, checkpoint says %d", len(entries), c.size))
	} else if err == nil {
		check(fmt.Sprintf("tree size %d", c.size), nil)
		root, err := tlog.TreeHash(c.size, t)
		if err == nil && root != c.root {
			err = fmt.Errorf("entries hash to %v, checkpoint says %v", root, c.root)
		}
		check("root hash against the entries", err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "inclusion-*"))
	names2, _ := filepath.Glob(filepath.Join(dir, "add-checkpoint-*"))
	sort.Strings(names)
	sort.Strings(names2)
	if len(names) == 0 || len(names2) == 0 {
		check("proof files", errors.New("no inclusion or add-checkpoint files"))
	}
	for _, name := range names {
		check(filepath.Base(name), checkInclusion(read(dir, filepath.Base(name)), c, entries))
	}
	for _, name := range names2 {
		check(filepath.Base(name), checkAddCheckpoint(read(dir, filepath.Base(name)), log, c, t))
	}
	check("cosignature/v1 by the witness key",
		checkCosignature(strings.TrimSpace(string(read(dir, "witness.vkey"))), n))
	if failures > 0 {
		fmt.Printf("%d checks failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("all checks passed")
}
