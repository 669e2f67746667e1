/* Capabilities: Docker's default set for ordinary containers, everything for --privileged. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

uint64_t caps_default_mask(void);
/* In the child before exec: drop every capability outside `keep` from the bounding set and
 * set effective = permitted = keep, inheritable = 0. Dies on failure. */
void caps_drop_to(uint64_t keep);
