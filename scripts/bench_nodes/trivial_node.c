/* A near-zero-cost Maelstrom node for benchmarking the harness: answers init, echo and generate.
 * It assumes the harness's compact message layout ({"id":..,"src":..,"dest":..,"body":{...}})
 * and string values without escapes; it is a measuring instrument, not a general node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char node_id[64] = "?";
static long counter = 0;

/* Copy the JSON string value that follows key (e.g. "\"src\":\"") into out. */
static int str_after(const char *line, const char *key, char *out, size_t cap) {
    const char *p = strstr(line, key);
    if (!p) return 0;
    p += strlen(key);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) out[n++] = *p++;
    out[n] = 0;
    return 1;
}

int main(void) {
    static char line[1 << 20];
    char src[64], type[64], echo[4096];
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    while (fgets(line, sizeof line, stdin)) {
        const char *body = strstr(line, "\"body\":");
        if (!body || !str_after(line, "\"src\":\"", src, sizeof src) || !str_after(body, "\"type\":\"", type, sizeof type))
            continue;
        const char *mid = strstr(body, "\"msg_id\":");
        long msg_id = mid ? strtol(mid + 9, NULL, 10) : 0;
        if (strcmp(type, "init") == 0) {
            str_after(body, "\"node_id\":\"", node_id, sizeof node_id);
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"init_ok\",\"in_reply_to\":%ld}}\n", node_id, src, msg_id);
        } else if (strcmp(type, "generate") == 0) {
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"generate_ok\",\"in_reply_to\":%ld,\"id\":\"%s-%ld\"}}\n",
                   node_id, src, msg_id, node_id, ++counter);
        } else if (strcmp(type, "echo") == 0 && str_after(body, "\"echo\":\"", echo, sizeof echo)) {
            printf("{\"src\":\"%s\",\"dest\":\"%s\",\"body\":{\"type\":\"echo_ok\",\"in_reply_to\":%ld,\"echo\":\"%s\"}}\n",
                   node_id, src, msg_id, echo);
        }
        fflush(stdout);
    }
    return 0;
}
