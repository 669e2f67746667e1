/* The `box` verbs answered with text (CMD → RESULT): ps, images, stats, inspect, logs, diff,
 * stop, rm, run -d, version. */
#pragma once
#include <stdint.h>

#include "link.h"

/* `box <verb> …` run inside boxd (argv[0] is the verb): returns the exit code, stdout in out and
 * stderr in notes. Verbs that finish later (stop, rm of a running container, a run -d waiting for
 * its layers) return -1 and reply themselves on (link, channel). */
int answer_verb(struct link *link, uint32_t channel, int argc, char **argv, struct buf *out, struct buf *notes);
