// A BROKEN broadcast node, for the tests: it forwards each new value to every other node once,
// fire and forget. A message lost to a partition is never sent again, so under
// --nemesis partition some reads miss values (the checker must say invalid).
package main

import (
	"bufio"
	"encoding/json"
	"os"
)

type body struct {
	Type      string   `json:"type"`
	MsgID     int      `json:"msg_id,omitempty"`
	InReplyTo int      `json:"in_reply_to,omitempty"`
	NodeID    string   `json:"node_id,omitempty"`
	NodeIDs   []string `json:"node_ids,omitempty"`
	Message   *int     `json:"message,omitempty"`
	Messages  []int    `json:"messages,omitempty"`
}

type message struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body body   `json:"body"`
}

func main() {
	out := json.NewEncoder(os.Stdout)
	var me string
	var everyone []string
	values := []int{}
	known := map[int]bool{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var msg message
		if json.Unmarshal(in.Bytes(), &msg) != nil {
			continue
		}
		reply := body{InReplyTo: msg.Body.MsgID}
		switch msg.Body.Type {
		case "init":
			me, everyone = msg.Body.NodeID, msg.Body.NodeIDs
			reply.Type = "init_ok"
		case "topology":
			reply.Type = "topology_ok"
		case "read":
			reply.Type, reply.Messages = "read_ok", values
		case "broadcast", "forward":
			v := *msg.Body.Message
			if !known[v] {
				known[v] = true
				values = append(values, v)
				if msg.Body.Type == "broadcast" {
					for _, peer := range everyone {
						if peer != me {
							out.Encode(message{Src: me, Dest: peer, Body: body{Type: "forward", Message: &v}})
						}
					}
				}
			}
			if msg.Body.Type == "forward" {
				continue
			}
			reply.Type = "broadcast_ok"
		default:
			continue
		}
		out.Encode(message{Src: me, Dest: msg.Src, Body: reply})
	}
}
