#!/bin/sh
# An echo node in POSIX shell and jq (apt-get install jq), for the installed-runner test: one jq
# process reads the messages (one JSON object a line) and answers init and echo, a line each.
exec jq -c --unbuffered '
  {src: .dest, dest: .src, body: (
    if .body.type == "init" then {type: "init_ok", in_reply_to: .body.msg_id}
    else {type: "echo_ok", echo: .body.echo, in_reply_to: .body.msg_id} end)}'
