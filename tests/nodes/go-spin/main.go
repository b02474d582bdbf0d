// A node that answers init and then computes forever without waiting for anything (a busy
// loop): under --sim it must end the run with a node fault that names it, never hang it.
package main

import (
	"bufio"
	"encoding/json"
	"os"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		return
	}
	var msg struct {
		Src  string
		Dest string
		Body struct {
			MsgID int `json:"msg_id"`
		}
	}
	json.Unmarshal(in.Bytes(), &msg)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"src": msg.Dest, "dest": msg.Src,
		"body": map[string]any{"type": "init_ok", "in_reply_to": msg.Body.MsgID},
	})
	n := 0
	for {
		n++
	}
}
