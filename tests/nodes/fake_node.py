"""A tiny Maelstrom node for the runner's tests; its first argument picks a (mis)behaviour.

echo            correct echo node             wrong-echo    echoes a different string
extra-field     echo_ok with an extra key     crash         exits after 3 echoes
hang-init       never answers init            garbage       prints a non-JSON line on the 3rd echo
unknown-dest    sends to a node that does not exist
ids             correct unique ids            dup-ids       hands out the same id twice
slow-echo       answers each echo after 30 ms (for late-reply tests)
forks           echo node that starts a child process and ignores the end of stdin
stderr-flood    correct echo node with a thread writing stderr as fast as it can
"""

import json
import os
import subprocess
import sys
import threading
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "echo"
node_id = None
count = 0


def send(dest, body):
    sys.stdout.write(json.dumps({"src": node_id, "dest": dest, "body": body}) + "\n")
    sys.stdout.flush()


def flood():
    block = b"".join(b"flood line %06d: " % i + b"x" * 80 + b"\n" for i in range(640))
    while True:
        os.write(2, block)


for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    reply = {"in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        print(f"{node_id} init", file=sys.stderr, flush=True)
        if mode == "hang-init":
            continue
        if mode == "stderr-flood":
            threading.Thread(target=flood, daemon=True).start()
        if mode == "forks":  # the child carries our argv, so a test can look for it
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", *sys.argv[1:]])
        send(msg["src"], {**reply, "type": "init_ok"})
        continue
    count += 1
    if body["type"] == "echo":
        if mode == "crash" and count > 3:
            print("about to crash", file=sys.stderr, flush=True)
            sys.exit(3)
        if mode == "garbage" and count == 3:
            print("hello from the node, this is not JSON", flush=True)
        if mode == "endless-line" and count == 3:  # one line that never ends, until the runner stops reading
            while True:
                sys.stdout.write("x" * (1 << 20))
                sys.stdout.flush()
        if mode == "unknown-dest" and count == 3:
            send("n99", {"type": "gossip"})
        if mode == "slow-echo":
            time.sleep(0.03)
        echo = body["echo"] + "!" if mode == "wrong-echo" else body["echo"]
        out = {**reply, "type": "echo_ok", "echo": echo}
        if mode == "extra-field":
            out["debug"] = "extra"
        send(msg["src"], out)
    elif body["type"] == "generate":
        ident = f"{node_id}-{count}" if mode != "dup-ids" else f"id-{count // 2}"
        send(msg["src"], {**reply, "type": "generate_ok", "id": ident})

if mode == "forks":
    time.sleep(300)  # a node that outlives its stdin: only a kill ends it
