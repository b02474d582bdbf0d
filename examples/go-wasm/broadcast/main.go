// A broadcast node (challenges 3a-3e) on Go's standard library only: it gossips on a ticker.
//
// Every value a node learns is queued for each of its neighbours and sent in one "gossip"
// message per neighbour per tick, again each tick until that neighbour acknowledges it with
// "gossip_ok". So a partition only delays values: they flow once it heals.
//
//	GOOS=wasip1 GOARCH=wasm go build -o node.wasm .
//	./maelstrom test -w broadcast --bin node.wasm --sim --node-count 5 --time-limit 20 --rate 10 --nemesis partition
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

type body struct {
	Type      string              `json:"type"`
	MsgID     int                 `json:"msg_id,omitempty"`
	InReplyTo int                 `json:"in_reply_to,omitempty"`
	NodeID    string              `json:"node_id,omitempty"`
	NodeIDs   []string            `json:"node_ids,omitempty"`
	Topology  map[string][]string `json:"topology,omitempty"`
	Message   *int                `json:"message,omitempty"`
	Messages  []int               `json:"messages,omitempty"`
}

type message struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body body   `json:"body"`
}

type node struct {
	id        string
	neighbors []string
	values    []int                    // every value known, in the order learned
	known     map[int]bool             // the same, as a set
	pending   map[string]map[int]bool // per neighbour: values it has not acknowledged
	out       *json.Encoder
	nextID    int
}

func (n *node) send(dest string, b body) {
	n.nextID++
	b.MsgID = n.nextID
	if err := n.out.Encode(message{Src: n.id, Dest: dest, Body: b}); err != nil {
		os.Exit(1)
	}
}

func (n *node) reply(to message, b body) {
	b.InReplyTo = to.Body.MsgID
	n.send(to.Src, b)
}

// learn records v and queues it for every neighbour but the one it came from.
func (n *node) learn(v int, from string) {
	if n.known[v] {
		return
	}
	n.known[v] = true
	n.values = append(n.values, v)
	for _, peer := range n.neighbors {
		if peer != from {
			n.pending[peer][v] = true
		}
	}
}

func (n *node) setNeighbors(peers []string) {
	n.neighbors = peers
	for _, peer := range peers {
		if n.pending[peer] == nil {
			n.pending[peer] = map[int]bool{}
		}
	}
}

func (n *node) handle(msg message) {
	switch msg.Body.Type {
	case "init":
		n.id = msg.Body.NodeID
		n.setNeighbors(slices.DeleteFunc(msg.Body.NodeIDs, func(p string) bool { return p == n.id }))
		n.reply(msg, body{Type: "init_ok"})
	case "topology":
		n.setNeighbors(msg.Body.Topology[n.id])
		n.reply(msg, body{Type: "topology_ok"})
	case "broadcast":
		if msg.Body.Message != nil {
			n.learn(*msg.Body.Message, "")
		}
		n.reply(msg, body{Type: "broadcast_ok"})
	case "read":
		n.reply(msg, body{Type: "read_ok", Messages: append([]int{}, n.values...)})
	case "gossip":
		for _, v := range msg.Body.Messages {
			n.learn(v, msg.Src)
		}
		n.reply(msg, body{Type: "gossip_ok", Messages: msg.Body.Messages})
	case "gossip_ok":
		for _, v := range msg.Body.Messages {
			delete(n.pending[msg.Src], v)
		}
	}
}

// gossip sends each neighbour what it has not acknowledged yet.
func (n *node) gossip() {
	for _, peer := range n.neighbors {
		if len(n.pending[peer]) == 0 {
			continue
		}
		batch := make([]int, 0, len(n.pending[peer]))
		for v := range n.pending[peer] {
			batch = append(batch, v)
		}
		slices.Sort(batch)
		n.send(peer, body{Type: "gossip", Messages: batch})
	}
}

func main() {
	lines := make(chan []byte)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(make([]byte, 1<<20), 1<<24)
		for in.Scan() {
			lines <- append([]byte{}, in.Bytes()...)
		}
		close(lines)
	}()
	n := &node{known: map[int]bool{}, pending: map[string]map[int]bool{}, out: json.NewEncoder(os.Stdout)}
	ticker := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return
			}
			var msg message
			if err := json.Unmarshal(line, &msg); err != nil {
				fmt.Fprintf(os.Stderr, "ignoring a line that is not a message: %q\n", line)
				continue
			}
			n.handle(msg)
		case <-ticker.C:
			n.gossip()
		}
	}
}
