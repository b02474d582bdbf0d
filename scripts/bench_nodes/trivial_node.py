"""The benchmark's node when no C compiler is there: answers init and generate, nothing else.

A measuring instrument, as cheap as Python allows (no library, one line in, one line out).
"""

import json
import sys

node_id = None
count = 0
for line in sys.stdin:
    msg = json.loads(line)
    body = msg["body"]
    reply = {"in_reply_to": body.get("msg_id")}
    if body["type"] == "init":
        node_id = body["node_id"]
        reply["type"] = "init_ok"
    elif body["type"] == "generate":
        count += 1
        reply.update(type="generate_ok", id=f"{node_id}-{count}")
    else:
        continue
    sys.stdout.write(json.dumps({"src": node_id, "dest": msg["src"], "body": reply}) + "\n")
    sys.stdout.flush()
