// An echo node for Maelstrom's echo workload, on Go's standard library only.
//
// Build it for WebAssembly and test it under the deterministic simulation:
//
//	GOOS=wasip1 GOARCH=wasm go build -o node.wasm .
//	./maelstrom test -w echo --bin node.wasm --sim --node-count 1 --time-limit 10
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// message is a Maelstrom envelope; the body stays a map so that echo hands back every field.
type message struct {
	Src  string         `json:"src"`
	Dest string         `json:"dest"`
	Body map[string]any `json:"body"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout) // one line per message: Encode ends each with a newline
	nextID := 0
	for in.Scan() {
		var msg message
		if err := json.Unmarshal(in.Bytes(), &msg); err != nil || msg.Body == nil {
			fmt.Fprintf(os.Stderr, "ignoring a line that is not a message: %q\n", in.Text())
			continue
		}
		reply := map[string]any{}
		switch msg.Body["type"] {
		case "init":
			reply["type"] = "init_ok"
		case "echo":
			reply["type"] = "echo_ok"
			reply["echo"] = msg.Body["echo"]
		default:
			continue
		}
		nextID++
		reply["msg_id"] = nextID
		reply["in_reply_to"] = msg.Body["msg_id"]
		if err := out.Encode(message{Src: msg.Dest, Dest: msg.Src, Body: reply}); err != nil {
			os.Exit(1)
		}
	}
}
