// A node that keeps lines in a file in its data directory ($MAELSTROM_DATA_DIR), for the tests
// of the WebAssembly host's files: "append" writes a line (and fsyncs it when "sync" is true),
// "read" answers every line in the file. What was never synced is lost at a simulated kill.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

type body struct {
	Type      string   `json:"type"`
	MsgID     int      `json:"msg_id,omitempty"`
	InReplyTo int      `json:"in_reply_to,omitempty"`
	NodeID    string   `json:"node_id,omitempty"`
	Value     string   `json:"value,omitempty"`
	Sync      bool     `json:"sync,omitempty"`
	Lines     []string `json:"lines,omitempty"`
	Error     string   `json:"error,omitempty"`
}

type message struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body body   `json:"body"`
}

func main() {
	out := json.NewEncoder(os.Stdout)
	var file *os.File
	var path string
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var msg message
		if json.Unmarshal(in.Bytes(), &msg) != nil {
			continue
		}
		reply := body{InReplyTo: msg.Body.MsgID}
		var err error
		switch msg.Body.Type {
		case "init":
			path = filepath.Join(os.Getenv("MAELSTROM_DATA_DIR"), msg.Body.NodeID+".lines")
			file, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
			reply.Type = "init_ok"
		case "append":
			if _, err = file.WriteString(msg.Body.Value + "\n"); err == nil && msg.Body.Sync {
				err = file.Sync()
			}
			reply.Type = "append_ok"
		case "read":
			var data []byte
			data, err = os.ReadFile(path)
			reply.Type, reply.Lines = "read_ok", strings.Fields(string(data))
		default:
			continue
		}
		if err != nil {
			reply.Type, reply.Error = "error", err.Error()
		}
		out.Encode(message{Src: msg.Dest, Dest: msg.Src, Body: reply})
	}
}
